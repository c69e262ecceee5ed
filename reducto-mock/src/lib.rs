//! A local HTTP server that behaves like [Reducto](https://platform.reducto.ai)'s
//! document-processing API, every operation of it: the test double of the
//! `reducto` SDK and the default backend of its quickstart.
//!
//! It is written from Reducto's OpenAPI spec (v1.12.20) independently of the
//! SDK, so tests exercise the SDK against the wire format, not against its
//! own types. Everything lives in memory.
//!
//! # Routes
//!
//! | route | auth | behaviour |
//! |---|---|---|
//! | `GET /version` | no | the JSON string [`VERSION`] |
//! | `POST /upload` | yes | multipart, part `file`; optional query `extension`. Returns `{"file_id": "reducto://<uuid>[.<ext>]", "presigned_url": null}` (extension from the query, else the part's filename). No `file` part: 422; unparseable multipart: 400. No size limit. |
//! | `DELETE /upload/{file_id}` | yes | `{"file_id"}`; the id (with or without `reducto://`, escaped or not) is unknown afterwards; unknown: 404 |
//! | `POST /parse` | yes | parse now; returns a `ParseResponse` after [`ServerBuilder::sync_latency`]. A failing document gives 500 `{"detail": reason}`. |
//! | `POST /parse_async` | yes | create a job; returns `{"job_id"}` |
//! | `POST /extract` | yes | a `V3ExtractResponse` (see **Extract**); a body with an `async` object creates a job instead (`{"job_id"}`) |
//! | `POST /extract_async` | yes | an `Extract` job |
//! | `POST /split`, `/split_async` | yes | a `SplitResponse` (see **Split**), or a `Split` job |
//! | `POST /classify`, `/classify_async` | yes | a `ClassifyResponse` (see **Classify**), or a `Classify` job |
//! | `POST /edit`, `/edit_async` | yes | an `EditResponse` (see **Edit**), or an `Edit` job |
//! | `POST /pipeline`, `/pipeline_async` | yes | a `PipelineResponse` of a pipeline registered with [`ServerBuilder::pipeline`] (unknown `pipeline_id`: 404), or a `Pipeline` job |
//! | `GET /job/{job_id}` | yes | `EnhancedAsyncJobResponse` with the job's `type` and, once completed, the response of its kind; unknown id: 404 `{"detail":"Job not found"}` |
//! | `DELETE /job/{job_id}` | yes | 202 `{"job_id"}`; the job is gone from `/job`, `/jobs` and `jobid://`; optional query `include_persisted` (bool); unknown: 404 |
//! | `POST /cancel/{job_id}` | yes | `{"job_id", "status"}`; see below; unknown id: 404 |
//! | `GET /jobs` | yes | `{"jobs": [SingleJob], "next_cursor"}`, newest first; query `cursor`, `limit` (1..=500, default 100), `exclude_configs` |
//! | `POST /configure_webhook` | yes | a webhook portal URL, as a JSON string (not served) |
//! | `GET /results/{result_id}` | no | a stored URL result (JSON) or edited document, like a presigned storage URL |
//!
//! Unknown routes answer 404 `{"detail":"Not Found"}`, wrong methods 405
//! `{"detail":"Method Not Allowed"}`, like FastAPI.
//!
//! **Auth**: `Authorization: Bearer <key>` is required where marked; missing
//! or malformed gives 401 `{"detail": ...}`. Any non-empty key is accepted
//! unless [`ServerBuilder::api_key`] sets the only valid one.
//!
//! **Input** (`input` in the JSON body; `document_url` for edit, which
//! takes no list): a `reducto://` id from
//! `/upload` (unknown: **404** `{"detail":"File not found: ..."}`), a
//! `jobid://<job_id>` (reuses that job's documents; unknown: 404), an http(s)
//! URL (not fetched: the result names the URL), a list of those (results are
//! concatenated), or an `UploadResponse` object. Any other string is a 422.
//! Option groups (`enhance`, `retrieval`, `formatting`, `spreadsheet`,
//! `settings`, `async`) must be objects and `queue_priority` `auto`/`batch`;
//! otherwise they are only stored in the job's `raw_config` (the request
//! body as sent). Honoured settings: `settings.force_url_result` and
//! `settings.force_file_extension`. Validation errors are FastAPI-shaped 422s:
//! `{"detail": [{"type", "loc", "msg", "input"[, "ctx"]}]}`.
//!
//! **Results**: `.txt`/`.md` documents are split into blank-line-separated
//! paragraphs: `# ` starts a `Title`, `## ` (or more `#`) a `Section
//! Header`, `- `/`* ` a `List Item`, anything else is `Text`. A form feed or
//! every 40 blocks starts a new page. Blocks are grouped into chunks of at
//! most [`ServerBuilder::chunk_size`] characters. Other formats give one
//! chunk with one `Text` block naming the file and its size. A document (or
//! URL) containing [`FAIL_MARKER`] fails with reason
//! `"Mock failure requested by document content"`. When the serialized
//! `FullResult` is larger than [`ServerBuilder::url_result_threshold`] (or
//! `settings.force_url_result` is true) the result is
//! `{"type":"url","url":"<base>/results/<id>","result_id":"<id>"}` and the
//! full result is served, without auth, at that URL; the recorded request
//! shows whether the client sent an `Authorization` header there.
//!
//! **Extract, split, classify, edit, pipeline** parse their input like
//! `/parse`, then: extract fills `instructions.schema`'s properties from the
//! document's `Label: value` lines (names, titles and descriptions matched
//! case- and underscore-insensitively; numbers, booleans and enums parsed;
//! nested objects, `$ref`s, arrays of objects one per paragraph or list
//! item; missing values `null` where nullable, else left out; citations
//! and deep-extract confidence on request); classify picks the category
//! whose criteria words occur most (ties: the first listed); split gives
//! each page to the category whose name and description words occur most
//! on it (with partitions by `partition_key` lines); edit applies
//! `replace "a" with "b"` and `Label: value` instruction lines to a text
//! document and serves the result at `document_url`; a pipeline parses,
//! splits, extracts (per split) and edits as its definition says. The exact
//! rules are documented on the modules of `src/ops/`. Each answers its own
//! response type (`response_type` `v3_extract`, `split`, `classify`,
//! `edit`, `pipeline`), sync after [`ServerBuilder::sync_latency`] or as a
//! job of its `type`; results become URL results like parse's (forced by
//! `force_url_result` or over the threshold). Options the mock does not act
//! on are validated for shape only.
//!
//! **Jobs** start `Pending` with `progress` rising linearly from 0 to 100
//! over [`ServerBuilder::job_duration`] (tokio clock, so a paused clock
//! drives it), then are `Completed` (with `result`) or `Failed` (with
//! `reason`). State is computed on each request; there are no background
//! tasks. Cancelling a pending job makes it `Cancelled` forever (reason
//! `"Job cancelled by user"`); cancelling a finished job is a 200 that
//! reports its unchanged status. Sync requests are jobs too (listed by
//! `/jobs`).
//!
//! **Pagination**: `next_cursor` is opaque (hex) and names the last job
//! returned, so pages stay stable while new jobs arrive; `null` means no
//! more. A malformed cursor is a 422 at `["query","cursor"]`.
//!
//! **Faults**: see [`Faults`] — 429s with retry headers, 5xx or any custom
//! response, latency, dropped connections and cursor loops, by probability
//! (seeded) or for the next N requests to a route. Faults apply before auth
//! (like a gateway in front of the API) and only to known routes.
//!
//! **Limits** (like Reducto's ingress: 500 requests/s, 200 concurrent sync
//! requests): [`Limit::in_flight`] and [`Limit::per_second`] (sliding or
//! fixed 1 s window, tokio clock), for all routes or some, answer `429
//! {"detail": "Rate limit exceeded: ..."}` with `retry-after` and
//! `retry-after-ms`; [`Server::stats`] counts the requests they refused and
//! the peak in flight. Set them with [`Faults::limit`] or the binary's
//! `--limit-in-flight N[@ROUTE]` / `--limit-rate R[@ROUTE]` flags.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use reducto_mock::{SeedJob, Server};
//!
//! let server = Server::builder()
//!     .api_key("test-key")
//!     .job_duration(Duration::ZERO)
//!     .start()
//!     .await
//!     .expect("bind");
//! server.seed_jobs((0..250).map(|_| SeedJob::completed()));
//! let base_url = server.url(); // point the client here
//! # let _ = base_url;
//! let requests = server.requests(); // what the client sent
//! # let _ = requests;
//! # }
//! ```
//!
//! The binary (`cargo run -p reducto-mock -- --port 8080`) serves the same
//! API until Ctrl-C; see `--help`.

#![warn(missing_docs)]

mod faults;
mod ops;
mod record;
mod results;
mod routes;
mod server;
mod state;

pub use faults::{FaultAction, FaultRule, Faults, Limit, LimitKind, ServerStats, Trigger, Window};
pub use record::{MultipartPart, RecordedRequest};
pub use results::FAIL_MARKER;
pub use routes::VERSION;
pub use server::{Server, ServerBuilder, UploadedFile};
pub use state::SeedJob;
