//! An async Rust client for [Reducto](https://reducto.ai), the
//! document-processing API: upload a document; parse, extract, split,
//! classify or edit it, or run a pipeline on it, synchronously or as an async
//! job; then get, cancel, delete, list and wait for jobs.
//!
//! Calls mirror the official SDKs' names (`client.upload`, `client.parse.run`,
//! `client.extract.run_job`, `client.job.get`, `client.job.delete`,
//! `client.job.get_all`, `client.delete_upload`, `client.api_version`), so
//! Reducto's documentation translates line for line. Every document
//! operation has the one shape described in [`api`]; extraction can fill a
//! Rust type ([`api::extract`]).
//!
//! ```no_run
//! use reducto::{Reducto, JobStatus};
//!
//! # async fn run() -> Result<(), reducto::Error> {
//! let client = Reducto::from_env()?; // REDUCTO_API_KEY, REDUCTO_BASE_URL
//!
//! let upload = client.upload("document.pdf").await?; // streamed from disk
//! let job_id = client.parse().run_job(&upload).await?.job_id;
//!
//! let job = client.job().get(&job_id).await?;
//! match &job.status {
//!     JobStatus::Completed => println!("{:?}", job.result),
//!     JobStatus::Pending | JobStatus::Idle => println!("still processing"),
//!     JobStatus::Failed => println!("failed: {}", job.reason.as_deref().unwrap_or("")),
//!     other => println!("status {other}"), // a status a newer API added
//! }
//!
//! match client.job().get("no-such-job").await {
//!     Err(e) if e.is_not_found() => println!("Job not found"),
//!     Err(reducto::Error::Connection(e)) => println!("Connection failed: {e}"),
//!     Err(e) => println!("Error: {:?} - {:?}", e.status(), e.body()),
//!     Ok(job) => println!("{}", job.status),
//! }
//! # Ok(()) }
//! ```
//!
//! # Layers
//!
//! `openapi.yaml` is Reducto's published contract; `build.rs` (with the
//! `reducto-codegen` crate) generates private low-level bindings from it with
//! progenitor. This crate is the handwritten layer on top: configuration,
//! typed errors, uploads, request builders, retries. The generated request
//! and response types are public in [`types`].
#![warn(missing_docs)]
// A literal of a generated type always ends in `..Default::default()`, even
// when it names every field today: a spec that adds an optional field must
// not break the build (see `types::from_required` for the rule).
#![allow(clippy::needless_update)]

/// Adds the per-call `timeout` and `retry` setters to a request builder
/// whose `RequestOptions` field is named `$field`.
macro_rules! request_options {
    () => {
        request_options!(options);
    };
    ($field:ident) => {
        /// Time allowed for this request, instead of the client's timeout.
        pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.$field.timeout = Some(timeout);
            self
        }

        /// How this call is retried, instead of the client's policy.
        pub fn retry(mut self, policy: $crate::RetryPolicy) -> Self {
            self.$field.retry = Some(policy);
            self
        }
    };
}

/// Lets a request builder be awaited directly: `IntoFuture` calling `send`.
/// Builders own their client handle, so the future is `Send + 'static`.
macro_rules! into_future {
    ($builder:ident => $output:ty) => {
        impl ::std::future::IntoFuture for $builder {
            type Output = $crate::Result<$output>;
            type IntoFuture = ::std::pin::Pin<
                Box<dyn ::std::future::Future<Output = Self::Output> + Send + 'static>,
            >;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

pub mod api;
pub mod batch;
mod client;
mod error;
mod generated;
pub mod job;
mod job_result;
pub mod pagination;
pub mod parse;
mod result;
mod retry;
mod transport;
pub mod types;
mod upload;
pub mod wait;
pub mod webhook;

pub use client::{
    Environment, Reducto, ReductoBuilder, API_KEY_ENV, BASE_URL_ENV, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_TIMEOUT,
};
pub use error::{ApiError, DecodeError, Error, Result, TransportError};
pub use job::JobsPage;
pub use pagination::{JobPages, JobStream};
pub use parse::{DocumentInput, ParseOptions};
pub use result::{FetchFullResult, ParseResultSource};
pub use retry::RetryPolicy;
pub use types::{BlockType, Job, JobStatus, JobType};
pub use upload::{Document, Upload};

/// Entry points for the crate's own benchmarks, which compare the public
/// client with the generated bindings underneath. Not part of the API.
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod __bench {
    use crate::{transport::RequestOptions, types::EnhancedAsyncJobResponse, Reducto};

    /// `GET /job/{id}` through the generated client (with the crate's exec
    /// hook: key, retries, body limit) but none of the handwritten layer.
    pub async fn generated_get_job(
        client: &Reducto,
        job_id: &str,
    ) -> Result<EnhancedAsyncJobResponse, String> {
        let call = client.call(&RequestOptions::default());
        call.api()
            .retrieve_parse_job_job_id_get(job_id)
            .await
            .map(|v| v.into_inner())
            .map_err(|e| e.to_string())
    }
}

// The README's examples compile (and run, where they need no network) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
pub use wait::{JobUpdate, PollPolicy, WaitAll, WaitJob};
