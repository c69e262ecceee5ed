//! `POST /parse` and `POST /parse_async`: turning a document into chunks.

use crate::{
    error::{Error, Result},
    transport::RequestOptions,
    types::{
        from_required, AsyncConfig, AsyncParseConfig, AsyncParseConfigInput, AsyncParseResponse,
        Chunking, ChunkingChunkMode, Enhance, Formatting, FormattingTableOutputFormat, PageRange,
        ParseChunk, ParseRequest, ParseResponse, ParseResponseResult, QueuePriority, Retrieval,
        Settings, SettingsExtractionMode, SettingsOcrSystem, SettingsPageRange,
        SettingsReturnImagesItem, Spreadsheet, SyncParseConfig, SyncParseConfigInput,
        UploadResponse, UrlResult,
    },
    webhook::WebhookConfig,
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

    fn validate(&self) -> Result<()> {
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

impl From<DocumentInput> for SyncParseConfigInput {
    fn from(input: DocumentInput) -> Self {
        match input {
            DocumentInput::Url(url) => SyncParseConfigInput::String(url),
            DocumentInput::Urls(urls) => SyncParseConfigInput::Array(urls),
            DocumentInput::Upload(upload) => SyncParseConfigInput::UploadResponse(upload),
        }
    }
}
impl From<DocumentInput> for AsyncParseConfigInput {
    fn from(input: DocumentInput) -> Self {
        match input {
            DocumentInput::Url(url) => AsyncParseConfigInput::String(url),
            DocumentInput::Urls(urls) => AsyncParseConfigInput::Array(urls),
            DocumentInput::Upload(upload) => AsyncParseConfigInput::UploadResponse(upload),
        }
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

/// Parsing calls: `client.parse()`. Owns a clone of the client.
#[derive(Debug, Clone)]
pub struct Parse {
    client: Reducto,
}

impl Parse {
    pub(crate) fn new(client: Reducto) -> Self {
        Parse { client }
    }

    pub(crate) fn client(&self) -> &Reducto {
        &self.client
    }

    /// Parses synchronously (`POST /parse`): resolves once the document is
    /// parsed, which can take minutes for large documents.
    pub fn run(&self, input: impl Into<DocumentInput>) -> ParseRun {
        ParseRun {
            client: self.client.clone(),
            input: input.into(),
            options: ParseOptions::default(),
            request: RequestOptions::default(),
        }
    }

    /// Starts an asynchronous parse job (`POST /parse_async`) and resolves
    /// to its id at once.
    pub fn run_job(&self, input: impl Into<DocumentInput>) -> ParseRunJob {
        ParseRunJob {
            client: self.client.clone(),
            input: input.into(),
            options: ParseOptions::default(),
            asynchronous: None,
            webhook: None,
            queue_priority: None,
            request: RequestOptions::default(),
        }
    }
}

/// Moves the options' groups into a generated parse config: the sync and
/// async configs share these fields, not a type. Field by field, never a
/// struct literal (see [`from_required`]).
macro_rules! set_options {
    ($options:expr, $body:ident) => {{
        let o: ParseOptions = $options;
        $body.enhance = o.enhance;
        $body.retrieval = o.retrieval;
        $body.formatting = o.formatting;
        $body.spreadsheet = o.spreadsheet;
        $body.settings = o.settings;
    }};
}

/// The body of `POST /parse`: the input and only the options that are set.
fn sync_body(input: DocumentInput, options: ParseOptions) -> Result<SyncParseConfig> {
    let input = SyncParseConfigInput::from(input);
    let mut body: SyncParseConfig = from_required(serde_json::json!({ "input": input }))?;
    set_options!(options, body);
    Ok(body)
}

/// A synchronous parse, ready to send: await it, or set options first.
#[must_use = "a parse does nothing until awaited"]
#[derive(Debug, Clone)]
pub struct ParseRun {
    client: Reducto,
    input: DocumentInput,
    options: ParseOptions,
    request: RequestOptions,
}

impl ParseRun {
    /// How to parse.
    pub fn options(mut self, options: ParseOptions) -> Self {
        self.options = options;
        self
    }

    request_options!(request);

    /// Sends the request.
    pub async fn send(self) -> Result<ParseResponse> {
        self.input.validate()?;
        let body = ParseRequest::SyncParseConfig(sync_body(self.input, self.options)?);
        // Written by hand rather than through the generated call: its
        // response is the untagged union ParseResponse | AsyncParseResponse,
        // and any object with a job_id matches the second, so a parse result
        // that fails to decode would be mistaken for a job id and the real
        // decode error lost. `run` never sends an async config, so the answer
        // is a ParseResponse, decoded directly (body kept on failure).
        let call = self.client.call(&self.request);
        let request = call
            .shared()
            .http
            .post(format!("{}/parse", call.shared().base_url))
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body)
            .build()
            .map_err(Error::from_transport)?;
        let response = call.execute("parse_parse_post", request).await?;
        crate::transport::decode_json(response).await
    }
}

/// An asynchronous parse job, ready to start: await it, or set options first.
#[must_use = "a parse job is not started until awaited"]
#[derive(Debug, Clone)]
pub struct ParseRunJob {
    client: Reducto,
    input: DocumentInput,
    options: ParseOptions,
    asynchronous: Option<AsyncConfig>,
    webhook: Option<WebhookConfig>,
    queue_priority: Option<QueuePriority>,
    request: RequestOptions,
}

impl ParseRunJob {
    /// How to parse.
    pub fn options(mut self, options: ParseOptions) -> Self {
        self.options = options;
        self
    }

    /// Priority, webhook and metadata of the job. A
    /// [`webhook`](Self::webhook) set as well replaces this config's webhook
    /// (and its metadata, when it has some), whatever the order of the calls.
    pub fn async_config(mut self, config: AsyncConfig) -> Self {
        self.asynchronous = Some(config);
        self
    }

    /// Be notified when the job ends instead of polling (see
    /// [`crate::webhook`]).
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto) -> reducto::Result<()> {
    /// use reducto::webhook::WebhookConfig;
    ///
    /// let job = client
    ///     .parse()
    ///     .run_job("https://example.com/report.pdf")
    ///     .webhook(WebhookConfig::direct("https://example.com/hooks/reducto")
    ///         .metadata(serde_json::json!({"report": 17})))
    ///     .await?;
    /// # let _ = job; Ok(()) }
    /// ```
    pub fn webhook(mut self, webhook: WebhookConfig) -> Self {
        self.webhook = Some(webhook);
        self
    }

    /// `batch` for work that can wait for spare capacity (default `auto`).
    pub fn queue_priority(mut self, priority: QueuePriority) -> Self {
        self.queue_priority = Some(priority);
        self
    }

    request_options!(request);

    pub(crate) fn client(&self) -> &Reducto {
        &self.client
    }

    fn body(&self) -> Result<AsyncParseConfig> {
        let input = AsyncParseConfigInput::from(self.input.clone());
        let mut body: AsyncParseConfig = from_required(serde_json::json!({ "input": input }))?;
        set_options!(self.options.clone(), body);
        body.async_ = match &self.webhook {
            Some(webhook) => Some(
                webhook
                    .clone()
                    .into_async_config(self.asynchronous.clone())?,
            ),
            None => self.asynchronous.clone(),
        };
        body.queue_priority = self.queue_priority;
        Ok(body)
    }

    /// Starts the job.
    pub async fn send(self) -> Result<AsyncParseResponse> {
        self.input.validate()?;
        if let Some(webhook) = &self.webhook {
            webhook.validate()?;
        }
        let body = self.body()?;
        let call = self.client.call(&self.request);
        match call.api().async_parse_parse_async_post(&body).await {
            Ok(value) => Ok(value.into_inner()),
            Err(e) => Err(call.error(e).await),
        }
    }
}

into_future!(ParseRun => ParseResponse);

into_future!(ParseRunJob => AsyncParseResponse);

impl ParseResponse {
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
    use serde_json::json;

    /// Only what the user set is sent: no spec default rides along.
    #[test]
    fn a_page_range_alone_sends_only_the_page_range() {
        let input = DocumentInput::from("https://example.com/a.pdf");
        let body = sync_body(input, ParseOptions::new().pages(1, 2)).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({
                "input": "https://example.com/a.pdf",
                "settings": { "page_range": { "start": 1, "end": 2 } },
            })
        );
    }

    #[test]
    fn no_options_send_the_input_alone() {
        let body = sync_body(DocumentInput::job("j1"), ParseOptions::new()).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({ "input": "jobid://j1" })
        );
        let mut chunked = ParseOptions::new().chunk_size(500);
        chunked.enhance = None;
        let body = sync_body(DocumentInput::job("j1"), chunked).unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap()["retrieval"],
            json!({ "chunking": { "chunk_size": 500 } })
        );
    }
}
