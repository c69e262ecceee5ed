//! `POST /parse` and `POST /parse_async`: turning a document into chunks.

use crate::{
    api::{entry_point, ready, result_of_kind, BoxFuture, Operation, Request},
    error::{Error, Result},
    types::{
        Chunking, ChunkingChunkMode, Enhance, Formatting, FormattingTableOutputFormat, PageRange,
        ParseChunk, ParseResponse, ParseResponseResult, Retrieval, Settings,
        SettingsExtractionMode, SettingsOcrSystem, SettingsPageRange, SettingsReturnImagesItem,
        Spreadsheet, UploadResponse, UrlResult,
    },
    Reducto,
};

/// What to parse: an upload's result, a URL (public, presigned, or
/// `reducto://` from an upload), a `jobid://` reference to an earlier job,
/// or several URLs.
///
/// ```
/// use reducto::DocumentInput;
///
/// let url: DocumentInput = "https://example.com/report.pdf".into();
/// let earlier = DocumentInput::job("3f2c0bd8");
/// assert_eq!(earlier, DocumentInput::Url("jobid://3f2c0bd8".into()));
/// # let _ = url;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentInput {
    /// One URL.
    Url(String),
    /// Several URLs (multi-document pipelines).
    Urls(Vec<String>),
    /// The result of [`Reducto::upload`].
    Upload(UploadResponse),
}

impl DocumentInput {
    /// The document of an earlier job (`jobid://<id>`), parsed again without
    /// uploading it again.
    pub fn job(job_id: impl AsRef<str>) -> DocumentInput {
        DocumentInput::Url(format!("jobid://{}", job_id.as_ref()))
    }

    /// The input as the request's JSON.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            DocumentInput::Url(url) => url.clone().into(),
            DocumentInput::Urls(urls) => urls.clone().into(),
            DocumentInput::Upload(upload) => serde_json::json!(upload),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let empty = match self {
            DocumentInput::Url(url) => url.trim().is_empty(),
            DocumentInput::Urls(urls) => {
                urls.is_empty() || urls.iter().any(|u| u.trim().is_empty())
            }
            DocumentInput::Upload(upload) => upload.file_id.trim().is_empty(),
        };
        if empty {
            return Err(Error::invalid("input", "the document input is empty"));
        }
        Ok(())
    }
}

impl From<&str> for DocumentInput {
    fn from(url: &str) -> Self {
        DocumentInput::Url(url.to_owned())
    }
}
impl From<String> for DocumentInput {
    fn from(url: String) -> Self {
        DocumentInput::Url(url)
    }
}
impl From<&String> for DocumentInput {
    fn from(url: &String) -> Self {
        DocumentInput::Url(url.clone())
    }
}
impl From<Vec<String>> for DocumentInput {
    fn from(urls: Vec<String>) -> Self {
        DocumentInput::Urls(urls)
    }
}
impl From<UploadResponse> for DocumentInput {
    fn from(upload: UploadResponse) -> Self {
        DocumentInput::Upload(upload)
    }
}
impl From<&UploadResponse> for DocumentInput {
    fn from(upload: &UploadResponse) -> Self {
        DocumentInput::Upload(upload.clone())
    }
}

/// How to parse. Everything left unset is omitted from the request, so the
/// server applies the spec's defaults (standard OCR, hybrid extraction,
/// dynamic tables, no chunking). The common options have setters; the full
/// generated option types can be set whole through the public fields.
///
/// ```
/// use reducto::ParseOptions;
/// use reducto::types::{ChunkingChunkMode, FormattingTableOutputFormat, SettingsOcrSystem};
///
/// let options = ParseOptions::new()
///     .ocr_system(SettingsOcrSystem::Standard)
///     .pages(1, 10)
///     .chunk_mode(ChunkingChunkMode::Variable)
///     .table_output_format(FormattingTableOutputFormat::Md)
///     .add_page_markers(true);
/// assert_eq!(options.settings.as_ref().unwrap().page_range.is_some(), true);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Figure summaries, agentic passes, reading order.
    pub enhance: Option<Enhance>,
    /// Chunking and block filtering.
    pub retrieval: Option<Retrieval>,
    /// Tables, page markers, extra output.
    pub formatting: Option<Formatting>,
    /// Spreadsheet handling.
    pub spreadsheet: Option<Spreadsheet>,
    /// OCR, extraction mode, page range, images, passwords.
    pub settings: Option<Settings>,
}

impl ParseOptions {
    /// The server's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    fn settings_mut(&mut self) -> &mut Settings {
        self.settings.get_or_insert_with(Settings::default)
    }

    fn formatting_mut(&mut self) -> &mut Formatting {
        self.formatting.get_or_insert_with(Formatting::default)
    }

    fn chunking_mut(&mut self) -> &mut Chunking {
        self.retrieval
            .get_or_insert_with(Retrieval::default)
            .chunking
            .get_or_insert_with(Chunking::default)
    }

    /// The OCR engine (default `standard`).
    pub fn ocr_system(mut self, ocr: SettingsOcrSystem) -> Self {
        self.settings_mut().ocr_system = Some(ocr);
        self
    }

    /// Text extraction from PDFs: `hybrid` (OCR combined with the embedded
    /// text; the default) or `ocr` (OCR only).
    pub fn extraction_mode(mut self, mode: SettingsExtractionMode) -> Self {
        self.settings_mut().extraction_mode = Some(mode);
        self
    }

    /// Parse only pages `start..=end` (1-based).
    pub fn pages(mut self, start: i64, end: i64) -> Self {
        self.settings_mut().page_range = Some(SettingsPageRange::PageRange(PageRange {
            start: Some(start),
            end: Some(end),
            ..Default::default()
        }));
        self
    }

    /// The password of an encrypted document.
    pub fn document_password(mut self, password: impl Into<String>) -> Self {
        self.settings_mut().document_password = Some(password.into());
        self
    }

    /// Always return the result as a URL, however small.
    pub fn force_url_result(mut self, on: bool) -> Self {
        self.settings_mut().force_url_result = Some(on);
        self
    }

    /// Which block images to return.
    pub fn return_images(mut self, kinds: Vec<SettingsReturnImagesItem>) -> Self {
        self.settings_mut().return_images = kinds;
        self
    }

    /// How blocks are grouped into chunks (default `disabled`: one chunk).
    pub fn chunk_mode(mut self, mode: ChunkingChunkMode) -> Self {
        self.chunking_mut().chunk_mode = Some(mode);
        self
    }

    /// Target chunk size, for the variable chunk mode.
    pub fn chunk_size(mut self, size: i64) -> Self {
        self.chunking_mut().chunk_size = Some(size);
        self
    }

    /// How tables are written (default `dynamic`).
    pub fn table_output_format(mut self, format: FormattingTableOutputFormat) -> Self {
        self.formatting_mut().table_output_format = Some(format);
        self
    }

    /// Insert page markers into the content.
    pub fn add_page_markers(mut self, on: bool) -> Self {
        self.formatting_mut().add_page_markers = Some(on);
        self
    }

    /// Merge tables that continue across pages.
    pub fn merge_tables(mut self, on: bool) -> Self {
        self.formatting_mut().merge_tables = Some(on);
        self
    }

    /// Summarize figures with a vision model (default on).
    pub fn summarize_figures(mut self, on: bool) -> Self {
        self.enhance
            .get_or_insert_with(Enhance::default)
            .summarize_figures = Some(on);
        self
    }
}

entry_point! {
    /// Parsing calls: `client.parse()`: `run` (synchronous), `run_job`
    /// (asynchronous), and [`full_result`](Parses::full_result).
    Parses => Parse, "parse"
}

impl Operation for Parse {
    type Output = ParseResponse;
    type Response = ParseResponse;
    const NAME: &'static str = "parse";
    const QUEUE_PRIORITY: bool = true;

    result_of_kind!(ParseResponse);

    // A URL result stays one: `full_result` fetches it when wanted.
    fn finish(_client: Reducto, response: ParseResponse) -> BoxFuture<ParseResponse> {
        ready(response)
    }
}

impl<M> Request<Parse, M> {
    /// How to parse: each option group that is set is sent, whole.
    pub fn options(self, options: ParseOptions) -> Self {
        let mut request = self;
        macro_rules! group {
            ($($field:ident),*) => {$(
                if let Some(group) = options.$field {
                    request = request.set_group(stringify!($field), group);
                }
            )*};
        }
        group!(enhance, retrieval, formatting, spreadsheet, settings);
        request
    }
}

impl ParseResponse {
    /// This parse as another operation's input (`jobid://<job_id>`): extract,
    /// split or classify it without parsing the document again.
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
    /// let parsed = client.parse().run("https://example.com/a.pdf").await?;
    /// let kind = client.classify().run(parsed.reuse()).categories(["invoice", "receipt"]).await?;
    /// # let _ = kind;
    /// # Ok(()) }
    /// ```
    pub fn reuse(&self) -> DocumentInput {
        DocumentInput::job(&self.job_id)
    }

    /// The chunks, when the result is inline; `None` for a URL result (see
    /// [`url_result`](Self::url_result)).
    pub fn chunks(&self) -> Option<&[ParseChunk]> {
        match &self.result {
            ParseResponseResult::FullResult(full) => Some(&full.chunks),
            ParseResponseResult::UrlResult(_) => None,
        }
    }

    /// The URL to fetch the result from, when it was too large to inline.
    pub fn url_result(&self) -> Option<&UrlResult> {
        match &self.result {
            ParseResponseResult::UrlResult(url) => Some(url),
            ParseResponseResult::FullResult(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Run;
    use serde_json::json;

    /// The JSON body `client.parse().run(input).options(options)` sends.
    fn sync_body(input: DocumentInput, options: ParseOptions) -> Result<serde_json::Value> {
        let client = Reducto::builder()
            .read_env(false)
            .api_key("k")
            .build()
            .unwrap();
        let request: Run<Parse> = client.parse().run(input).options(options);
        request.checked_body().map(serde_json::Value::Object)
    }

    /// Only what the user set is sent: no spec default rides along.
    #[test]
    fn a_page_range_alone_sends_only_the_page_range() {
        let input = DocumentInput::from("https://example.com/a.pdf");
        let body = sync_body(input, ParseOptions::new().pages(1, 2)).unwrap();
        assert_eq!(
            body,
            json!({
                "input": "https://example.com/a.pdf",
                "settings": { "page_range": { "start": 1, "end": 2 } },
            })
        );
    }

    #[test]
    fn no_options_send_the_input_alone() {
        let body = sync_body(DocumentInput::job("j1"), ParseOptions::new()).unwrap();
        assert_eq!(body, json!({ "input": "jobid://j1" }));
        let mut chunked = ParseOptions::new().chunk_size(500);
        chunked.enhance = None;
        let body = sync_body(DocumentInput::job("j1"), chunked).unwrap();
        assert_eq!(
            body["retrieval"],
            json!({ "chunking": { "chunk_size": 500 } })
        );
    }
}
