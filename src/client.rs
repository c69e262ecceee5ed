//! The client and its configuration.

use std::{fmt, sync::Arc, time::Duration};

use reqwest::header::HeaderValue;

use crate::{
    error::{Error, Result},
    job::Jobs,
    parse::Parses,
    retry::RetryPolicy,
    transport::{CallContext, RequestOptions, Shared},
    types::DeleteUploadResponse,
};

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "REDUCTO_API_KEY";
/// The environment variable overriding the base URL.
pub const BASE_URL_ENV: &str = "REDUCTO_BASE_URL";

/// Default time allowed for one request: a synchronous parse can take many
/// minutes, so this is the official SDKs' hour, not a web-client's seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);
/// Default time allowed to connect.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Default limit on a response body: far above any inline parse result
/// (Reducto returns large results as URLs), far below a machine's memory.
pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 256 << 20;

/// Reducto's regional deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Environment {
    /// `https://platform.reducto.ai`
    #[default]
    Production,
    /// `https://eu.platform.reducto.ai`
    Eu,
    /// `https://au.platform.reducto.ai`
    Au,
}

impl Environment {
    /// The environment's base URL.
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Production => "https://platform.reducto.ai",
            Environment::Eu => "https://eu.platform.reducto.ai",
            Environment::Au => "https://au.platform.reducto.ai",
        }
    }
}

/// A Reducto client. Cheap to clone: clones share one connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), reducto::Error> {
/// use reducto::Reducto;
///
/// let client = Reducto::from_env()?; // REDUCTO_API_KEY, REDUCTO_BASE_URL
/// let upload = client.upload("invoice.pdf").await?;
/// let parsed = client.parse().run(&upload).await?;
/// println!("{} chunks", parsed.chunks().map_or(0, |c| c.len()));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Reducto {
    shared: Arc<Shared>,
}

impl fmt::Debug for Reducto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reducto")
            .field("base_url", &self.shared.base_url)
            .field("api_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Reducto {
    /// A client configured from `REDUCTO_API_KEY` and `REDUCTO_BASE_URL`.
    /// Fails at once, with [`Error::Config`], when there is no key.
    pub fn from_env() -> Result<Reducto> {
        Reducto::builder().build()
    }

    /// A client with this key; the base URL comes from `REDUCTO_BASE_URL`,
    /// else production.
    pub fn new(api_key: impl Into<String>) -> Result<Reducto> {
        Reducto::builder().api_key(api_key).build()
    }

    /// Everything configurable.
    pub fn builder() -> ReductoBuilder {
        ReductoBuilder::default()
    }

    /// The base URL requests go to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// Parsing: `run` (synchronous) and `run_job` (asynchronous). The
    /// handle and the requests it builds own a clone of the client (an
    /// `Arc`), so their futures are `Send + 'static` and can be spawned.
    pub fn parse(&self) -> Parses {
        Parses::new(self)
    }

    /// Jobs: `get`, `cancel`, `get_all`, streams and waiting. Like
    /// [`parse`](Self::parse), it owns a clone of the client.
    pub fn job(&self) -> Jobs {
        Jobs::new(self.clone())
    }

    /// Extraction into a Rust type (or JSON): `run::<T>` and `run_job::<T>`.
    pub fn extract(&self) -> crate::api::extract::Extracts {
        crate::api::extract::Extracts::new(self)
    }

    /// Splitting a document into categories of pages: `run` and `run_job`.
    pub fn split(&self) -> crate::api::split::Splits {
        crate::api::split::Splits::new(self)
    }

    /// Classifying a document: `run` and `run_job`.
    pub fn classify(&self) -> crate::api::classify::Classifies {
        crate::api::classify::Classifies::new(self)
    }

    /// Editing a document by instructions: `run` and `run_job`.
    pub fn edit(&self) -> crate::api::edit::Edits {
        crate::api::edit::Edits::new(self)
    }

    /// Running a Studio pipeline: `run` and `run_job`.
    pub fn pipeline(&self) -> crate::api::pipeline::Pipelines {
        crate::api::pipeline::Pipelines::new(self)
    }

    /// Deletes an uploaded file (`DELETE /upload/{file_id}`); takes the
    /// `file_id` as [`upload`](Self::upload) returned it (`reducto://...`).
    pub async fn delete_upload(&self, file_id: impl AsRef<str>) -> Result<DeleteUploadResponse> {
        let file_id = file_id.as_ref();
        if file_id.trim().is_empty() {
            return Err(Error::invalid("file_id", "the file id is empty"));
        }
        crate::api::send_json(
            self,
            &RequestOptions::default(),
            reqwest::Method::DELETE,
            &["upload", file_id],
            "delete_uploaded_file_upload_file_id_delete",
            None,
        )
        .await
    }

    /// The URL of the Svix portal where webhook endpoints are configured
    /// (`POST /configure_webhook`; Python's `client.webhook.run()`).
    pub async fn configure_webhook(&self) -> Result<String> {
        crate::api::send_json(
            self,
            &RequestOptions::default(),
            reqwest::Method::POST,
            &["configure_webhook"],
            "webhook_portal_configure_webhook_post",
            None,
        )
        .await
    }

    pub(crate) fn call(&self, options: &RequestOptions) -> CallContext {
        CallContext::new(self.shared.clone(), options.clone())
    }

    /// The API version the server reports (`GET /version`, no key needed).
    /// The future owns what it needs (`Send + 'static`).
    pub fn api_version(
        &self,
    ) -> impl std::future::Future<Output = Result<String>> + Send + 'static {
        let call = self.call(&RequestOptions::default());
        async move {
            match call.api().get_version_version_get().await {
                Ok(version) => Ok(version.into_inner()),
                Err(e) => Err(call.error(e).await),
            }
        }
    }
}

/// Configures a [`Reducto`] client.
///
/// ```
/// use std::time::Duration;
/// use reducto::{Environment, Reducto, RetryPolicy};
///
/// let client = Reducto::builder()
///     .api_key("sk-test")
///     .environment(Environment::Eu)
///     .timeout(Duration::from_secs(600))
///     .retry(RetryPolicy::default().max_retries(4))
///     .build()?;
/// assert_eq!(client.base_url(), "https://eu.platform.reducto.ai");
/// # Ok::<(), reducto::Error>(())
/// ```
#[derive(Default)]
pub struct ReductoBuilder {
    api_key: Option<String>,
    base_url: Option<String>,
    environment: Option<Environment>,
    http: Option<reqwest::Client>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    read_env: Option<bool>,
    max_response_bytes: Option<u64>,
}

impl fmt::Debug for ReductoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReductoBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("environment", &self.environment)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ReductoBuilder {
    /// The API key (else `REDUCTO_API_KEY`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The base URL, e.g. a local server's; wins over everything else.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// One of Reducto's regions. Setting it while `REDUCTO_BASE_URL` is set
    /// is an error (which one was meant?), as in the official SDKs.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// Use this HTTP client (its proxy, TLS and pool settings). The key,
    /// `User-Agent` and per-request timeout are still set on each request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Time allowed for each request (default [`DEFAULT_TIMEOUT`]);
    /// calls can override it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time allowed to connect (default [`DEFAULT_CONNECT_TIMEOUT`]); ignored
    /// with [`http_client`](Self::http_client), which has its own.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How failed requests are retried (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Shorthand for `retry(RetryPolicy::default().max_retries(n))`.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry = Some(self.retry.unwrap_or_default().max_retries(retries));
        self
    }

    /// The largest response body read (default
    /// [`DEFAULT_MAX_RESPONSE_SIZE`]); a larger one fails with
    /// [`Error::ResponseTooLarge`] instead of filling memory.
    pub fn max_response_size(mut self, bytes: u64) -> Self {
        self.max_response_bytes = Some(bytes);
        self
    }

    /// Whether `REDUCTO_API_KEY` and `REDUCTO_BASE_URL` are read (default
    /// true). Tests that must not pick up a developer's key turn it off.
    pub fn read_env(mut self, read: bool) -> Self {
        self.read_env = Some(read);
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<Reducto> {
        let read_env = self.read_env.unwrap_or(true);
        let env = |name: &str| {
            read_env
                .then(|| std::env::var(name).ok())
                .flatten()
                .filter(|v| !v.is_empty())
        };
        let api_key = resolve_api_key(self.api_key, env(API_KEY_ENV))?;
        let base_url = resolve_base_url(self.base_url, self.environment, env(BASE_URL_ENV))?;
        let base = reqwest::Url::parse(&base_url)
            .map_err(|e| Error::Config(format!("invalid base URL {base_url:?}: {e}")))?;

        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {api_key}")).map_err(|_| {
                Error::Config(
                    "the API key contains characters not allowed in an HTTP header \
                 (a newline, a control character or non-ASCII text)"
                        .into(),
                )
            })?;
        authorization.set_sensitive(true);

        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .build()
                .map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?,
        };
        Ok(Reducto {
            shared: Arc::new(Shared {
                http,
                base_url,
                base,
                authorization,
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                retry: self.retry.unwrap_or_default(),
                max_response_bytes: self.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_SIZE),
            }),
        })
    }
}

fn resolve_api_key(explicit: Option<String>, from_env: Option<String>) -> Result<String> {
    let key = explicit.or(from_env).ok_or_else(|| {
        Error::Config(format!(
            "no API key: pass one to the builder or set {API_KEY_ENV}"
        ))
    })?;
    if key.trim().is_empty() {
        return Err(Error::Config("the API key is empty".into()));
    }
    // HTTP would accept some of these bytes, but no real key contains them:
    // better a clear error now than a 401 (or a mangled header) later.
    if !key.is_ascii() || key.chars().any(|c| c.is_ascii_control()) {
        return Err(Error::Config(
            "the API key contains characters not allowed in an HTTP header \
             (a newline, a control character or non-ASCII text)"
                .into(),
        ));
    }
    Ok(key)
}

/// The official SDKs' precedence: an explicit base URL, then an explicit
/// environment (ambiguous if `REDUCTO_BASE_URL` is also set), then
/// `REDUCTO_BASE_URL`, then production.
fn resolve_base_url(
    explicit: Option<String>,
    environment: Option<Environment>,
    from_env: Option<String>,
) -> Result<String> {
    let chosen = match (explicit, environment, from_env) {
        (Some(url), _, _) => url,
        (None, Some(_), Some(_)) => {
            return Err(Error::Config(format!(
                "ambiguous base URL: both an environment and {BASE_URL_ENV} are set; \
                 unset {BASE_URL_ENV} or pass base_url() instead"
            )))
        }
        (None, Some(environment), None) => environment.base_url().to_owned(),
        (None, None, Some(url)) => url,
        (None, None, None) => Environment::Production.base_url().to_owned(),
    };
    let parsed = reqwest::Url::parse(chosen.trim())
        .map_err(|e| Error::Config(format!("invalid base URL {chosen:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Config(format!(
            "invalid base URL {chosen:?}: it must be an http:// or https:// URL with a host"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::Config(format!(
            "invalid base URL {chosen:?}: it must not have a query or fragment"
        )));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn base_url_precedence_follows_the_official_sdks() {
        let prod = "https://platform.reducto.ai";
        assert_eq!(resolve_base_url(None, None, None).unwrap(), prod);
        assert_eq!(
            resolve_base_url(None, None, s("http://env:1/")).unwrap(),
            "http://env:1"
        );
        assert_eq!(
            resolve_base_url(None, Some(Environment::Au), None).unwrap(),
            "https://au.platform.reducto.ai"
        );
        // Explicit URL beats everything, even with both others set.
        assert_eq!(
            resolve_base_url(s("http://x"), Some(Environment::Eu), s("http://env")).unwrap(),
            "http://x"
        );
        // Environment and the variable together: ambiguous.
        let err = resolve_base_url(None, Some(Environment::Eu), s("http://env")).unwrap_err();
        assert!(err.to_string().contains("ambiguous"), "{err}");
    }

    #[test]
    fn base_url_keeps_a_path_prefix_and_refuses_nonsense() {
        assert_eq!(
            resolve_base_url(s("http://proxy/reducto/"), None, None).unwrap(),
            "http://proxy/reducto"
        );
        for bad in ["not a url", "ftp://x", "http://x/?q=1", "file:///tmp", ""] {
            assert!(
                matches!(resolve_base_url(s(bad), None, None), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn api_key_required_and_validated() {
        assert!(matches!(resolve_api_key(None, None), Err(Error::Config(_))));
        assert!(matches!(
            resolve_api_key(s("  "), None),
            Err(Error::Config(_))
        ));
        assert_eq!(resolve_api_key(None, s("env")).unwrap(), "env");
        assert_eq!(resolve_api_key(s("arg"), s("env")).unwrap(), "arg");
        for bad in ["a\nb", "ключ", "a\rb"] {
            let err = Reducto::builder()
                .read_env(false)
                .api_key(bad)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad}");
            assert!(!err.to_string().contains(bad), "the key leaked into {err}");
        }
    }

    #[test]
    fn key_never_in_debug() {
        let client = Reducto::builder()
            .read_env(false)
            .api_key("sk-secret-123")
            .build()
            .unwrap();
        let builder = Reducto::builder().api_key("sk-secret-123");
        for text in [format!("{client:?}"), format!("{builder:?}")] {
            assert!(!text.contains("sk-secret-123"), "{text}");
        }
    }
}
