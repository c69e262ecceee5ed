//! The shape every document operation shares: extract, split, classify,
//! edit and pipeline.
//!
//! Each operation is `client.<operation>()`, then `run(input)` (the
//! synchronous endpoint: resolves to the result) or `run_job(input)` (the
//! `_async` endpoint: resolves to a [`Started`] job, or straight to the
//! result with [`.wait()`](Request::wait)). Both are a [`Request`]: set
//! options with its setters, then await it. Only what you set is sent; the
//! server applies the spec's defaults to the rest.
//!
//! ```no_run
//! # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
//! let upload = client.upload("packet.pdf").await?;
//! // Synchronous:
//! let kind = client.classify().run(&upload).category("invoice", ["invoice", "total"]).await?;
//! // As a job, waited on:
//! let parts = client.split().run_job(&upload).category("invoice", "Invoices").wait().await?;
//! # let _ = (kind, parts);
//! # Ok(()) }
//! ```

use std::{
    future::{Future, IntoFuture},
    marker::PhantomData,
    pin::Pin,
};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};

use crate::{
    error::{Error, Result},
    transport::RequestOptions,
    types::{AsyncConfig, JobResult, QueuePriority, UrlResult},
    DocumentInput, Reducto,
};

pub mod classify;
pub mod edit;
pub mod extract;
pub mod pipeline;
mod resolve;
pub mod schema;
pub mod split;

/// The future a request resolves through.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// One of Reducto's document operations: its endpoints, the form of its
/// request and how its response becomes its result. Implemented by the
/// marker types of [`extract`], [`split`], [`classify`], [`edit`] and
/// [`pipeline`]; sealed.
pub trait Operation: sealed::Sealed + Send + Sync + 'static {
    /// What the operation resolves to.
    type Output: Send + 'static;
    /// The synchronous endpoint's response body.
    #[doc(hidden)]
    type Response: DeserializeOwned + Send + 'static;
    /// The operation's name, as in its endpoints' paths (`extract`).
    #[doc(hidden)]
    const NAME: &'static str;
    /// The body field the document goes in.
    #[doc(hidden)]
    const INPUT_FIELD: &'static str = "input";
    /// Whether the input may be a list of URLs.
    #[doc(hidden)]
    const TAKES_LISTS: bool = true;
    /// Whether the async body takes `queue_priority`.
    #[doc(hidden)]
    const QUEUE_PRIORITY: bool = false;
    /// Whether the async settings are top-level fields (`priority`,
    /// `webhook`) rather than an `async` object.
    #[doc(hidden)]
    const FLAT_ASYNC: bool = false;

    /// Checks and completes the body before it is sent.
    #[doc(hidden)]
    fn prepare(_body: &mut Map<String, Value>) -> Result<()> {
        Ok(())
    }

    /// This operation's response out of a job's result, else the result back.
    #[doc(hidden)]
    #[allow(clippy::result_large_err)] // once per waited job
    fn from_job(result: JobResult) -> std::result::Result<Self::Response, JobResult>;

    /// Turns a response into the result (fetching URL results).
    #[doc(hidden)]
    fn finish(client: Reducto, response: Self::Response) -> BoxFuture<Self::Output>;
}

/// `Operation::from_job` for an operation whose result is one [`JobResult`]
/// variant.
macro_rules! result_of_kind {
    ($variant:ident) => {
        #[allow(clippy::result_large_err)]
        fn from_job(
            result: $crate::types::JobResult,
        ) -> ::std::result::Result<Self::Response, $crate::types::JobResult> {
            match result {
                $crate::types::JobResult::$variant(response) => Ok(response),
                other => Err(other),
            }
        }
    };
}
pub(crate) use result_of_kind;

/// Declares an operation's entry point (`client.split()`): a handle with
/// `run` (the synchronous endpoint) and `run_job` (the `_async` one), each
/// taking the document and, for some operations, one required string
/// written to a body field (edit's instructions, pipeline's id).
macro_rules! entry_point {
    (
        $(#[$meta:meta])*
        $name:ident => $op:ident, $path:literal $(, $arg:ident => $field:literal)?
    ) => {
        #[doc = concat!("The ", $path, " operation (a [`Request`](crate::api::Request) type parameter).")]
        #[derive(Debug)]
        pub struct $op;

        impl $crate::api::sealed::Sealed for $op {}

        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            client: $crate::Reducto,
        }

        impl $name {
            pub(crate) fn new(client: &$crate::Reducto) -> Self {
                $name { client: client.clone() }
            }

            #[allow(dead_code)] // not every entry point has extra methods
            pub(crate) fn client(&self) -> &$crate::Reducto {
                &self.client
            }

            fn request<M>(
                &self,
                input: impl Into<$crate::DocumentInput>,
                $($arg: impl Into<String>,)?
            ) -> $crate::api::Request<$op, M> {
                let request = $crate::api::Request::new(&self.client, input.into());
                $(let request = request.set(&[$field], $arg.into());)?
                request
            }

            #[doc = concat!("Runs synchronously (`POST /", $path, "`); await it for the result.")]
            pub fn run(
                &self,
                input: impl Into<$crate::DocumentInput>,
                $($arg: impl Into<String>,)?
            ) -> $crate::api::Run<$op> {
                self.request(input, $($arg)?)
            }

            #[doc = concat!("Starts a job (`POST /", $path, "_async`); await it for the job's id, or `.wait()` for its result.")]
            pub fn run_job(
                &self,
                input: impl Into<$crate::DocumentInput>,
                $($arg: impl Into<String>,)?
            ) -> $crate::api::RunJob<$op> {
                self.request(input, $($arg)?)
            }
        }
    };
}
pub(crate) use entry_point;

/// Refuses a body whose list `field` is missing or empty.
pub(crate) fn require_items(
    body: &Map<String, Value>,
    field: &'static str,
    hint: &str,
) -> Result<()> {
    match body.get(field) {
        Some(Value::Array(items)) if !items.is_empty() => Ok(()),
        _ => Err(Error::invalid(field, hint.to_owned())),
    }
}

/// An already finished result, as a [`BoxFuture`].
pub(crate) fn ready<T: Send + 'static>(value: T) -> BoxFuture<T> {
    Box::pin(std::future::ready(Ok(value)))
}

/// [`Request`]'s mode: the synchronous endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Immediate;
/// [`Request`]'s mode: the `_async` endpoint, a job.
#[derive(Debug, Clone, Copy)]
pub struct Queued;

/// A synchronous operation, ready to send.
pub type Run<Op> = Request<Op, Immediate>;
/// An operation started as a job, ready to send.
pub type RunJob<Op> = Request<Op, Queued>;

/// An operation's request: the document, the options set so far, and how
/// it is sent. Await it (or call `send`).
#[must_use = "a request does nothing until awaited"]
pub struct Request<Op: Operation, Mode> {
    client: Reducto,
    input: DocumentInput,
    body: Map<String, Value>,
    asynchronous: Map<String, Value>,
    request: RequestOptions,
    /// The first option that could not be written, reported by `send`.
    invalid: Option<(&'static str, String)>,
    _op: PhantomData<fn() -> (Op, Mode)>,
}

impl<Op: Operation, Mode> Clone for Request<Op, Mode> {
    fn clone(&self) -> Self {
        Request {
            client: self.client.clone(),
            input: self.input.clone(),
            body: self.body.clone(),
            asynchronous: self.asynchronous.clone(),
            request: self.request.clone(),
            invalid: self.invalid.clone(),
            _op: PhantomData,
        }
    }
}

impl<Op: Operation, Mode> std::fmt::Debug for Request<Op, Mode> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("operation", &Op::NAME)
            .field("input", &self.input)
            .field("body", &self.body)
            .field("async", &self.asynchronous)
            .finish_non_exhaustive()
    }
}

impl<Op: Operation, Mode> Request<Op, Mode> {
    pub(crate) fn new(client: &Reducto, input: DocumentInput) -> Self {
        Request {
            client: client.clone(),
            input,
            body: Map::new(),
            asynchronous: Map::new(),
            request: RequestOptions::default(),
            invalid: None,
            _op: PhantomData,
        }
    }

    /// The same request, for another document.
    pub(crate) fn for_input(&self, input: DocumentInput) -> Self {
        Request {
            input,
            ..self.clone()
        }
    }

    /// Sets a body field at `path` (objects created on the way).
    pub(crate) fn set(mut self, path: &[&'static str], value: impl Serialize) -> Self {
        set_at(&mut self.body, path, value, &mut self.invalid);
        self
    }

    /// Sets `key` in the object at body field `field`.
    pub(crate) fn insert(mut self, field: &'static str, key: String, value: Value) -> Self {
        let slot = self
            .body
            .entry(field)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(map) = slot {
            map.insert(key, value);
        }
        self
    }

    /// Appends to the list at body field `field`.
    pub(crate) fn push(mut self, field: &'static str, item: Value) -> Self {
        let slot = self
            .body
            .entry(field)
            .or_insert_with(|| Value::Array(Vec::new()));
        match slot {
            Value::Array(items) => items.push(item),
            other => *other = Value::Array(vec![item]),
        }
        self
    }

    /// Sets a whole option group from one of the generated option types.
    pub(crate) fn set_group(self, field: &'static str, value: impl Serialize) -> Self {
        self.set(&[field], value)
    }

    request_options!(request);

    /// The JSON body this request sends (after its checks).
    pub(crate) fn checked_body(&self) -> Result<Map<String, Value>> {
        if let Some((name, reason)) = &self.invalid {
            return Err(Error::invalid(name, reason.clone()));
        }
        self.input.validate()?;
        if !Op::TAKES_LISTS && matches!(self.input, DocumentInput::Urls(_)) {
            return Err(Error::invalid(
                "input",
                format!("{} takes one document, not a list", Op::NAME),
            ));
        }
        let mut body = self.body.clone();
        body.insert(Op::INPUT_FIELD.into(), self.input.to_json());
        Op::prepare(&mut body)?;
        Ok(body)
    }
}

fn set_at(
    map: &mut Map<String, Value>,
    path: &[&'static str],
    value: impl Serialize,
    invalid: &mut Option<(&'static str, String)>,
) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut target = map;
    for key in parents {
        let slot = target
            .entry(*key)
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else {
            unreachable!("just made an object")
        };
        target = next;
    }
    match serde_json::to_value(value) {
        Ok(value) => {
            target.insert((*last).into(), value);
        }
        Err(e) => {
            invalid.get_or_insert((last, e.to_string()));
        }
    }
}

impl<Op: Operation> Request<Op, Immediate> {
    /// Sends the request (`POST /<operation>`) and resolves to the result.
    pub async fn send(self) -> Result<Op::Output> {
        let body = Value::Object(self.checked_body()?);
        let response: Op::Response = send_json(
            &self.client,
            &self.request,
            reqwest::Method::POST,
            &[Op::NAME],
            Op::NAME,
            Some(&body),
        )
        .await?;
        Op::finish(self.client, response).await
    }
}

impl<Op: Operation> IntoFuture for Request<Op, Immediate> {
    type Output = Result<Op::Output>;
    type IntoFuture = BoxFuture<Op::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl<Op: Operation> Request<Op, Queued> {
    fn async_set(mut self, key: &'static str, value: impl Serialize) -> Self {
        set_at(&mut self.asynchronous, &[key], value, &mut self.invalid);
        self
    }

    /// Run ahead of `batch` work (`async.priority`).
    pub fn priority(self, on: bool) -> Self {
        self.async_set("priority", on)
    }

    /// JSON handed back with the job's webhook (`async.metadata`).
    pub fn metadata(self, metadata: Value) -> Self {
        self.async_set("metadata", metadata)
    }

    /// Notify a webhook when the job ends: direct (an HTTP POST to your URL)
    /// or Svix (signed, to the endpoints of Reducto's portal), with
    /// optional metadata; see [`crate::webhook`] to verify deliveries. A
    /// config that cannot work (a direct URL that is not http(s), an empty
    /// channel name) is refused by `send`, before any request.
    ///
    /// ```no_run
    /// # async fn run(client: reducto::Reducto) -> Result<(), reducto::Error> {
    /// use reducto::webhook::WebhookConfig;
    ///
    /// let job = client
    ///     .parse()
    ///     .run_job("https://example.com/a.pdf")
    ///     .webhook(WebhookConfig::direct("https://example.com/hooks/reducto")
    ///         .metadata(serde_json::json!({ "doc": 7 })))
    ///     .await?;
    /// # let _ = job; Ok(()) }
    /// ```
    pub fn webhook(mut self, config: crate::webhook::WebhookConfig) -> Self {
        if let Err(e) = config.validate() {
            let refused = match e {
                Error::InvalidArgument { name, reason } => (name, reason),
                other => ("webhook", other.to_string()),
            };
            self.invalid.get_or_insert(refused);
            return self;
        }
        let metadata = config.metadata.clone();
        let mut this = self.async_set("webhook", config.webhook_json());
        if let Some(metadata) = metadata {
            this = this.async_set("metadata", metadata);
        }
        this
    }

    /// POST the job's outcome to this URL when it ends: shorthand for
    /// [`webhook`](Self::webhook) with [`WebhookConfig::direct`](crate::webhook::WebhookConfig::direct).
    pub fn webhook_url(self, url: impl Into<String>) -> Self {
        self.webhook(crate::webhook::WebhookConfig::direct(url))
    }

    /// Deliver the job's outcome through Svix, to these channels (see
    /// [`Reducto::configure_webhook`]): shorthand for
    /// [`webhook`](Self::webhook) with [`WebhookConfig::svix_channels`](crate::webhook::WebhookConfig::svix_channels).
    pub fn svix_webhook<I: IntoIterator<Item = S>, S: Into<String>>(self, channels: I) -> Self {
        self.webhook(crate::webhook::WebhookConfig::svix_channels(channels))
    }

    /// The whole async configuration (priority, webhook, metadata) at once.
    /// Fields it leaves unset keep what earlier setters (such as
    /// [`webhook`](Self::webhook)) put there, whatever the order.
    pub fn async_config(mut self, config: AsyncConfig) -> Self {
        match serde_json::to_value(config) {
            Ok(Value::Object(map)) => {
                for (key, value) in map {
                    if !value.is_null() {
                        self.asynchronous.insert(key, value);
                    }
                }
            }
            _ => {
                self.invalid
                    .get_or_insert(("async_config", "not a JSON object".into()));
            }
        }
        self
    }

    /// `batch` for work that can wait for spare capacity, where the
    /// operation takes it (parse, extract); elsewhere `send` refuses it.
    pub fn queue_priority(self, priority: QueuePriority) -> Self {
        self.set(&["queue_priority"], priority)
    }

    pub(crate) fn job_body(&self) -> Result<Map<String, Value>> {
        let mut body = self.checked_body()?;
        if !Op::QUEUE_PRIORITY && body.contains_key("queue_priority") {
            return Err(Error::invalid(
                "queue_priority",
                format!("{} jobs take no queue priority", Op::NAME),
            ));
        }
        let mut config = self.asynchronous.clone();
        if Op::FLAT_ASYNC {
            // Edit's async body: `priority` and `webhook` at the top, the
            // metadata inside the webhook.
            if let Some(metadata) = config.remove("metadata") {
                let webhook = config
                    .entry("webhook")
                    .or_insert_with(|| serde_json::json!({"mode": "disabled"}));
                if let Value::Object(webhook) = webhook {
                    webhook.insert("metadata".into(), metadata);
                }
            }
            body.extend(config);
        } else if !config.is_empty() {
            body.insert("async".into(), Value::Object(config));
        }
        Ok(body)
    }

    /// Starts the job (`POST /<operation>_async`) and resolves to its id.
    pub async fn send(self) -> Result<Started<Op>> {
        let body = Value::Object(self.job_body()?);
        #[derive(serde::Deserialize)]
        struct JobId {
            job_id: String,
        }
        let path = format!("{}_async", Op::NAME);
        let started: JobId = send_json(
            &self.client,
            &self.request,
            reqwest::Method::POST,
            &[&path],
            Op::NAME,
            Some(&body),
        )
        .await?;
        Ok(Started {
            client: self.client,
            job_id: started.job_id,
            _op: PhantomData,
        })
    }

    /// Starts the job and waits for its result (default
    /// [`PollPolicy`](crate::PollPolicy)).
    pub async fn wait(self) -> Result<Op::Output> {
        self.send().await?.wait().await
    }

    /// Starts the job and waits for its result on this schedule.
    /// A policy that cannot be right is refused before the job is submitted.
    pub async fn wait_with(self, policy: crate::PollPolicy) -> Result<Op::Output> {
        policy.validate()?;
        self.send().await?.wait_with(policy).await
    }
}

impl<Op: Operation> IntoFuture for Request<Op, Queued> {
    type Output = Result<Started<Op>>;
    type IntoFuture = BoxFuture<Started<Op>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A job an operation started: its id, and [`wait`](Self::wait) for its
/// result.
pub struct Started<Op: Operation> {
    client: Reducto,
    /// The job's id (for `client.job().get`, `cancel`, `delete`).
    pub job_id: String,
    _op: PhantomData<fn() -> Op>,
}

impl<Op: Operation> std::fmt::Debug for Started<Op> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Started")
            .field("operation", &Op::NAME)
            .field("job_id", &self.job_id)
            .finish()
    }
}

impl<Op: Operation> Started<Op> {
    /// Waits for the job (default [`PollPolicy`](crate::PollPolicy)) and
    /// resolves to its result, or to the job's failure.
    pub async fn wait(self) -> Result<Op::Output> {
        self.wait_with(crate::PollPolicy::default()).await
    }

    /// Waits on this polling schedule.
    pub async fn wait_with(self, policy: crate::PollPolicy) -> Result<Op::Output> {
        let job = self
            .client
            .job()
            .wait(&self.job_id)
            .poll_policy(policy)
            .await?;
        result_of::<Op>(self.client, Some(&self.job_id), job).await
    }
}

/// The result of a completed job of operation `Op`: its response picked by
/// the job's kind, URL results fetched. Shared by [`Started::wait`] and the
/// batch (which knows the id from elsewhere: the outcome carries it).
pub(crate) async fn result_of<Op: Operation>(
    client: Reducto,
    job_id: Option<&str>,
    job: crate::types::Job,
) -> Result<Op::Output> {
    let job_id = job_id.map_or_else(|| "the job".to_owned(), |id| format!("job {id}"));
    match job.result.map(Op::from_job) {
        Some(Ok(response)) => Op::finish(client, response).await,
        Some(Err(other)) => Err(Error::invalid(
            "job_id",
            format!(
                "{job_id} completed with a result that is not {}'s: {}",
                Op::NAME,
                kind_of(&other)
            ),
        )),
        None => Err(Error::invalid(
            "job_id",
            format!("{job_id} completed without a result"),
        )),
    }
}

fn kind_of(result: &JobResult) -> String {
    serde_json::to_value(result)
        .ok()
        .and_then(|v| v.get("response_type").cloned())
        .map_or_else(|| "of another kind".into(), |k| k.to_string())
}

/// Sends a request written by hand (JSON in, JSON out) through the one
/// retry loop, and decodes the answer naming the path of any failure.
pub(crate) async fn send_json<T: DeserializeOwned>(
    client: &Reducto,
    options: &RequestOptions,
    method: reqwest::Method,
    segments: &[&str],
    operation: &'static str,
    body: Option<&Value>,
) -> Result<T> {
    send_json_query(client, options, method, segments, &[], operation, body).await
}

/// [`send_json`] with a query string.
pub(crate) async fn send_json_query<T: DeserializeOwned>(
    client: &Reducto,
    options: &RequestOptions,
    method: reqwest::Method,
    segments: &[&str],
    query: &[(&str, String)],
    operation: &'static str,
    body: Option<&Value>,
) -> Result<T> {
    let call = client.call(options);
    let mut url = call.shared().base.clone();
    url.path_segments_mut()
        .map_err(|()| Error::Config("the base URL cannot take a path".into()))?
        .pop_if_empty()
        .extend(segments);
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let mut builder = call
        .shared()
        .http
        .request(method, url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some(body) = body {
        builder = builder.json(body);
    }
    let request = builder.build().map_err(Error::from_transport)?;
    let response = call.execute(operation, request).await?;
    // The spec's successes carry JSON (200; 202 for a deletion); any other
    // status, a bodiless 204 included, is an error with its body, as for
    // the generated calls.
    if !(200..=202).contains(&response.status().as_u16()) {
        return Err(crate::transport::error_from_response(response).await);
    }
    crate::transport::decode_json(response).await
}

/// Fetches a result Reducto stored at a URL (never with the Reducto key:
/// the URL points at a storage host).
pub(crate) async fn fetch_url<T: DeserializeOwned>(
    client: &Reducto,
    options: &RequestOptions,
    url: &str,
) -> Result<T> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::invalid("url", format!("result URL {url:?}: {e}")))?;
    let call = client.call(options).without_key();
    let request = call
        .shared()
        .http
        .get(parsed)
        .build()
        .map_err(Error::from_transport)?;
    let response = call.execute("fetch_result", request).await?;
    crate::transport::decode_json(response).await
}

/// The URL of a `{type: "url", url}` result.
pub(crate) fn url_of(value: Option<&Value>) -> Option<String> {
    let value = value?;
    (value.get("type")? == "url")
        .then(|| value.get("url")?.as_str().map(str::to_owned))
        .flatten()
}

/// The JSON behind a [`UrlResult`].
pub(crate) async fn fetch_result<T: DeserializeOwned>(
    client: &Reducto,
    url: &UrlResult,
) -> Result<T> {
    fetch_url(client, &RequestOptions::default(), &url.url).await
}

#[cfg(test)]
mod tests {
    use std::future::IntoFuture;

    use crate::Reducto;

    fn send_static<T: Send + 'static>(_: &T) {}

    /// Builders own the client, and every future can be spawned.
    #[test]
    fn requests_and_their_futures_are_send_and_static() {
        let client = Reducto::builder()
            .read_env(false)
            .api_key("k")
            .base_url("http://127.0.0.1:9")
            .build()
            .unwrap();
        let run = client.extract().run::<serde_json::Value>("https://a");
        send_static(&run);
        send_static(&run.into_future());
        let job = client.split().run_job("https://a").category("a", "b");
        send_static(&job.clone().into_future());
        send_static(&job.wait());
        send_static(&client.parse().run("https://a").into_future());
        send_static(&client.job().delete("id").into_future());
        drop(client);
    }
}
