//! A job's result with its URL results fetched, whatever its kind.

use serde_json::Value;

use super::{classify::Classify, fetch_result, fetch_url, split::Split, url_of, Operation};
use crate::{
    error::Result,
    transport::RequestOptions,
    types::{
        ExtractResponse, ExtractResponseCitations, ExtractResponseResult,
        ExtractSplitResponseResult, JobResult, ParseResponse, ParseResponseResult,
        PipelineResponse, PipelineResultExtract, PipelineResultParse, V3ExtractResponse,
        V3ExtractResponseResult,
    },
    Reducto,
};

impl JobResult {
    /// This result with every URL result in it fetched (without the
    /// Reducto key), as `run` and `run_job(..).wait()` hand results back:
    /// for a result from `client.job().get` or `client.job().wait`.
    /// Reducto returns a URL instead of a large result (or always, with
    /// `force_url_result`). An edit's document stays at its URL (it is a
    /// file, not JSON).
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto, job_id: String) -> Result<(), reducto::Error> {
    /// let job = client.job().wait(&job_id).await?;
    /// if let Some(result) = job.result {
    ///     let inline = result.resolve(&client).await?;
    ///     println!("{inline:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resolve(self, client: &Reducto) -> Result<JobResult> {
        Ok(match self {
            JobResult::ParseResponse(parsed) => {
                JobResult::ParseResponse(resolve_parse(client, parsed).await?)
            }
            JobResult::SplitResponse(split) => {
                JobResult::SplitResponse(Split::finish(client.clone(), split).await?)
            }
            JobResult::ClassifyResponse(classified) => JobResult::ClassifyResponse(
                Classify::finish(client.clone(), classified).await?.response,
            ),
            JobResult::ExtractResponse(extract) => {
                JobResult::ExtractResponse(resolve_extract(client, extract).await?)
            }
            JobResult::V3ExtractResponse(extract) => {
                JobResult::V3ExtractResponse(resolve_v3_extract(client, extract).await?)
            }
            JobResult::PipelineResponse(pipeline) => {
                JobResult::PipelineResponse(resolve_pipeline(client, pipeline).await?)
            }
            other => other,
        })
    }
}

/// A pipeline's response with the URL results of its steps fetched: the
/// parse (one or several), the split, and each extraction (one, or one per
/// split section). The edit's document stays at its URL.
pub(crate) async fn resolve_pipeline(
    client: &Reducto,
    mut pipeline: PipelineResponse,
) -> Result<PipelineResponse> {
    if let Some(split) = pipeline.result.split.take() {
        pipeline.result.split = Some(Split::finish(client.clone(), split).await?);
    }
    pipeline.result.parse = match pipeline.result.parse.take() {
        Some(PipelineResultParse::ParseResponse(parsed)) => Some(
            PipelineResultParse::ParseResponse(resolve_parse(client, parsed).await?),
        ),
        Some(PipelineResultParse::Array(all)) => {
            let mut resolved = Vec::with_capacity(all.len());
            for parsed in all {
                resolved.push(resolve_parse(client, parsed).await?);
            }
            Some(PipelineResultParse::Array(resolved))
        }
        None => None,
    };
    pipeline.result.extract = match pipeline.result.extract.take() {
        Some(PipelineResultExtract::ExtractResponse(extract)) => Some(
            PipelineResultExtract::ExtractResponse(resolve_extract(client, extract).await?),
        ),
        Some(PipelineResultExtract::V3ExtractResponse(extract)) => Some(
            PipelineResultExtract::V3ExtractResponse(resolve_v3_extract(client, extract).await?),
        ),
        // One extraction per split section.
        Some(PipelineResultExtract::Array(sections)) => {
            let mut resolved = Vec::with_capacity(sections.len());
            for mut section in sections {
                section.result = match section.result {
                    ExtractSplitResponseResult::ExtractResponse(extract) => {
                        ExtractSplitResponseResult::ExtractResponse(
                            resolve_extract(client, extract).await?,
                        )
                    }
                    ExtractSplitResponseResult::V3ExtractResponse(extract) => {
                        ExtractSplitResponseResult::V3ExtractResponse(
                            resolve_v3_extract(client, extract).await?,
                        )
                    }
                };
                resolved.push(section);
            }
            Some(PipelineResultExtract::Array(resolved))
        }
        None => None,
    };
    Ok(pipeline)
}

async fn resolve_extract(
    client: &Reducto,
    mut extract: ExtractResponse,
) -> Result<ExtractResponse> {
    if let ExtractResponseResult::UrlResult(url) = &extract.result {
        extract.result = ExtractResponseResult::Array(fetch_result(client, url).await?);
    }
    if let Some(ExtractResponseCitations::UrlResult(url)) = &extract.citations {
        extract.citations = Some(ExtractResponseCitations::Array(
            fetch_result(client, url).await?,
        ));
    }
    Ok(extract)
}

/// The v3 result is any JSON; a URL result is one shaped `{type: "url",
/// url}`. The fetched JSON takes its place as it would have come inline.
async fn resolve_v3_extract(
    client: &Reducto,
    mut extract: V3ExtractResponse,
) -> Result<V3ExtractResponse> {
    let url = match &extract.result {
        V3ExtractResponseResult::Value(value) => url_of(Some(value)),
        V3ExtractResponseResult::List(_) => None,
    };
    if let Some(url) = url {
        let fetched: Value = fetch_url(client, &RequestOptions::default(), &url).await?;
        extract.result = V3ExtractResponseResult::Value(fetched);
    }
    Ok(extract)
}

async fn resolve_parse(client: &Reducto, mut parsed: ParseResponse) -> Result<ParseResponse> {
    if matches!(parsed.result, ParseResponseResult::UrlResult(_)) {
        let full = client.parse().full_result(&parsed).await?;
        parsed.result = ParseResponseResult::FullResult(full);
    }
    Ok(parsed)
}
