//! Every call against the local Reducto server: the job-management flow,
//! request-level details, each error kind, refused inputs and forward
//! compatibility.

use std::time::Duration;

use futures::TryStreamExt;
use reducto::{
    types::{ParseResult, SettingsOcrSystem},
    BlockType, Document, DocumentInput, Error, JobStatus, JobType, ParseOptions, Reducto,
    RetryPolicy,
};
use reducto_mock::{FaultAction, FaultRule, Faults, SeedJob, Server};

const KEY: &str = "sk-test-0123456789";

fn client(server: &Server) -> Reducto {
    Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(server.url())
        .build()
        .expect("valid configuration")
}

async fn instant_server() -> Server {
    Server::builder()
        .job_duration(Duration::ZERO)
        .start()
        .await
        .expect("server starts")
}

const MARKDOWN: &str = "# Report\n\n## Numbers\n\nRevenue grew.\n\n- one\n- two\n";

#[tokio::test]
async fn job_management_flow_end_to_end() {
    let server = Server::builder()
        .job_duration(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let client = client(&server);

    let upload = client
        .upload(Document::bytes(MARKDOWN, "report.md"))
        .await
        .unwrap();
    assert!(
        upload.file_id.starts_with("reducto://"),
        "{}",
        upload.file_id
    );

    // Synchronous parse: the blocks come from the document's text.
    let parsed = client.parse().run(&upload).await.unwrap();
    let chunks = parsed.chunks().expect("inline result");
    let blocks: Vec<(&BlockType, &str)> = chunks
        .iter()
        .flat_map(|c| &c.blocks)
        .map(|b| (&b.type_, b.content.as_str()))
        .collect();
    assert_eq!(blocks[0], (&BlockType::Title, "# Report"));
    assert_eq!(blocks[1], (&BlockType::SectionHeader, "## Numbers"));
    assert_eq!(blocks[2], (&BlockType::Text, "Revenue grew."));
    assert_eq!(blocks[3].0, &BlockType::ListItem);
    let bbox = &chunks[0].blocks[0].bbox;
    assert_eq!(bbox.page, 1);
    assert!(bbox.width > 0.0 && bbox.height > 0.0);

    // Async job: get until completed.
    let job_id = client.parse().run_job(&upload).await.unwrap().job_id;
    let first = client.job().get(&job_id).await.unwrap();
    assert_eq!(first.status, JobStatus::Pending);
    let done = client.job().wait(&job_id).await.unwrap();
    assert_eq!(done.status, JobStatus::Completed);
    let full = client.parse().full_result(&done).await.unwrap();
    assert_eq!(full.chunks, chunks);

    // Cancel: the job never completes and says so. GET /job documents no
    // Cancelled, so (like Reducto) the server reports it as Failed with
    // the cancel as its reason.
    let doomed = client.parse().run_job(&upload).await.unwrap().job_id;
    client.job().cancel(&doomed).await.unwrap();
    let cancelled = client.job().get(&doomed).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Failed);
    assert_eq!(cancelled.reason.as_deref(), Some("Job cancelled by user"));
    assert!(matches!(
        client.job().wait(&doomed).await,
        Err(Error::JobFailed { job_id, reason: Some(reason), .. })
            if job_id == doomed && reason == "Job cancelled by user"
    ));

    // Every job, page by page with the cursor: sync parse + two jobs.
    let first_page = client.job().get_all().limit(2).await.unwrap();
    assert_eq!(first_page.jobs.len(), 2);
    assert_eq!(first_page.jobs[0].job_id, doomed, "newest first");
    let cursor = first_page.next_cursor.clone().expect("a second page");
    let second_page = client
        .job()
        .get_all()
        .limit(2)
        .cursor(cursor)
        .await
        .unwrap();
    assert_eq!(second_page.jobs.len(), 1);
    assert_eq!(second_page.next_cursor, None);
    assert_eq!(second_page.jobs[0].job_id, parsed.job_id);
    let all: Vec<String> = client
        .job()
        .get_all()
        .limit(1)
        .stream()
        .map_ok(|j| j.job_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, [doomed, job_id, parsed.job_id]);

    assert_eq!(client.api_version().await.unwrap(), reducto_mock::VERSION);
}

#[tokio::test]
async fn requests_carry_auth_user_agent_and_documented_shapes() {
    let server = instant_server().await;
    let client = client(&server);

    let upload = client
        .upload(Document::bytes(MARKDOWN, "notes.md"))
        .extension("md")
        .await
        .unwrap();
    client.parse().run(&upload).await.unwrap();
    client
        .job()
        .get_all()
        .limit(7)
        .cursor("7631")
        .exclude_configs(true)
        .await
        .ok();

    let requests = server.requests();
    for r in &requests {
        assert_eq!(r.header("authorization"), Some(&*format!("Bearer {KEY}")));
        assert_eq!(
            r.header("user-agent"),
            Some(&*format!("reducto-rs/{}", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(r.header("x-reducto-retry-count"), Some("0"));
        assert_eq!(r.header("accept"), Some("application/json"));
        // One decision for every request (see the transport module): no
        // `api-version` header, generated calls and handwritten ones alike.
        assert_eq!(r.header("api-version"), None, "{} {}", r.method, r.path);
    }

    let up = &requests[0];
    assert_eq!((up.method.as_str(), up.path.as_str()), ("POST", "/upload"));
    assert_eq!(up.query.as_deref(), Some("extension=md"));
    assert!(up
        .content_type
        .as_deref()
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
    assert_eq!(up.multipart_parts.len(), 1);
    let part = &up.multipart_parts[0];
    assert_eq!(part.name, "file");
    assert_eq!(part.filename.as_deref(), Some("notes.md"));
    // Guessed from the file name: multipart parsers (Prism's among them)
    // may refuse a file part without one.
    assert_eq!(part.content_type.as_deref(), Some("text/markdown"));
    assert_eq!(part.size, MARKDOWN.len());

    let parse = &requests[1];
    assert_eq!(
        (parse.method.as_str(), parse.path.as_str()),
        ("POST", "/parse")
    );
    assert_eq!(parse.content_type.as_deref(), Some("application/json"));

    let list = &requests[2];
    assert_eq!(list.path, "/jobs");
    let query = list.query.as_deref().unwrap();
    for expected in ["limit=7", "cursor=7631", "exclude_configs=true"] {
        assert!(query.split('&').any(|p| p == expected), "{query}");
    }
}

#[tokio::test]
async fn parse_options_and_upload_reference_are_sent_as_typed_json() {
    let server = instant_server().await;
    let client = client(&server);
    let upload = client
        .upload(Document::bytes(MARKDOWN, "a.md"))
        .await
        .unwrap();
    let options = ParseOptions::new()
        .ocr_system(SettingsOcrSystem::Standard)
        .pages(1, 3)
        .add_page_markers(true);
    let job_id = client
        .parse()
        .run_job(&upload)
        .options(options)
        .await
        .unwrap()
        .job_id;
    let job = client.job().get(&job_id).await.unwrap();
    let raw: serde_json::Value = serde_json::from_str(job.raw_config.as_deref().unwrap()).unwrap();
    // The upload goes in whole, as the API accepts it.
    assert_eq!(raw["input"]["file_id"], upload.file_id.as_str());
    assert_eq!(raw["settings"]["ocr_system"], "standard");
    assert_eq!(
        raw["settings"]["page_range"],
        serde_json::json!({"start": 1, "end": 3})
    );
    assert_eq!(raw["formatting"]["add_page_markers"], true);
    // Unset groups are left to the server's defaults.
    assert!(raw.get("enhance").is_none() && raw.get("spreadsheet").is_none());

    // A jobid:// reference parses the earlier job's document again.
    let again = client
        .parse()
        .run(DocumentInput::job(&job_id))
        .await
        .unwrap();
    assert_eq!(again.chunks().unwrap()[0].blocks[0].content, "# Report");
}

#[tokio::test]
async fn uploads_from_path_and_reader() {
    let server = instant_server().await;
    let client = client(&server);
    let dir = std::env::temp_dir().join(format!("reducto-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("from-disk.txt");
    std::fs::write(&path, "plain text\n\nsecond paragraph").unwrap();

    let from_path = client.upload(&path).await.unwrap();
    let stored = server.uploaded_file(&from_path.file_id).unwrap();
    assert_eq!(stored.bytes, b"plain text\n\nsecond paragraph");
    assert_eq!(stored.filename.as_deref(), Some("from-disk.txt"));

    let reader = tokio::fs::File::open(&path).await.unwrap();
    let from_reader = client
        .upload(Document::reader(reader, "streamed.txt"))
        .await
        .unwrap();
    let stored = server.uploaded_file(&from_reader.file_id).unwrap();
    assert_eq!(stored.bytes.len(), 28);

    let missing = client.upload(dir.join("nope.pdf")).await.unwrap_err();
    assert!(matches!(&missing, Error::File { path, .. } if path.ends_with("nope.pdf")));
    std::fs::remove_dir_all(&dir).ok();
}

/// Each HTTP status class becomes its own error variant, keeping status,
/// headers and body.
#[tokio::test]
async fn each_status_class_has_its_error_kind() {
    let server = instant_server().await;
    let client = Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    type Check = fn(&Error) -> bool;
    let cases: [(u16, Check); 9] = [
        (400, |e| matches!(e, Error::BadRequest(_))),
        (401, |e| matches!(e, Error::Authentication(_))),
        (403, |e| matches!(e, Error::PermissionDenied(_))),
        (404, |e| matches!(e, Error::NotFound(_))),
        (409, |e| matches!(e, Error::Conflict(_))),
        (422, |e| matches!(e, Error::UnprocessableEntity(_))),
        (429, |e| matches!(e, Error::RateLimit(_))),
        (503, |e| matches!(e, Error::InternalServer(_))),
        (418, |e| matches!(e, Error::Status(_))),
    ];
    for (status, is_kind) in cases {
        server.set_faults(
            Faults::new(1).rule(
                FaultRule::new(FaultAction::Respond {
                    status,
                    headers: vec![("x-request-id".into(), format!("req-{status}"))],
                    body: format!("{{\"detail\":\"failure {status}\"}}"),
                })
                .route("/job/*")
                .always(),
            ),
        );
        let err = client.job().get("some-job").await.unwrap_err();
        assert!(is_kind(&err), "{status}: {err:?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(
            err.headers().unwrap()["x-request-id"],
            format!("req-{status}").as_str()
        );
        assert_eq!(
            err.body().unwrap().as_ref(),
            format!("{{\"detail\":\"failure {status}\"}}").as_bytes()
        );
        assert_eq!(
            err.api_error().unwrap().detail().unwrap(),
            format!("failure {status}")
        );
        assert!(
            err.to_string().contains(&format!("failure {status}")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn real_server_errors_unauthorized_not_found_validation() {
    let server = Server::builder().api_key(KEY).start().await.unwrap();
    let wrong_key = Reducto::builder()
        .read_env(false)
        .api_key("sk-wrong")
        .base_url(server.url())
        .build()
        .unwrap();
    let err = wrong_key.job().get("x").await.unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    assert!(!format!("{err:?} {err}").contains("sk-wrong"));

    let client = client(&server);
    let err = client.job().get("no-such-job").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    // A cursor the server does not know: FastAPI's 422 with details.
    let err = client
        .job()
        .get_all()
        .cursor("not-a-cursor")
        .await
        .unwrap_err();
    let Error::UnprocessableEntity(api) = &err else {
        panic!("{err:?}")
    };
    let details = api.validation_errors();
    assert_eq!(details.len(), 1);
    let loc: Vec<String> = details[0].loc.iter().map(|l| l.to_string()).collect();
    assert_eq!(loc, ["query", "cursor"]);
    assert!(err.to_string().contains("query.cursor"), "{err}");
}

#[tokio::test]
async fn transport_failures_are_connection_and_timeout_errors() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(url)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.job().get("x").await.unwrap_err();
    assert!(matches!(err, Error::Connection(_)), "{err:?}");
    assert!(err.is_retryable());

    // A server slower than the per-request timeout.
    let server = instant_server().await;
    server.set_faults(
        Faults::new(1).rule(
            FaultRule::new(FaultAction::Latency(Duration::from_secs(5)))
                .route("/version")
                .always(),
        ),
    );
    let client = Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(server.url())
        .retry(RetryPolicy::none())
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let err = client.api_version().await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    // The per-call timeout overrides the client's.
    let slow_ok = client
        .job()
        .get_all()
        .timeout(Duration::from_secs(30))
        .await;
    assert!(slow_ok.is_ok(), "{slow_ok:?}");
}

#[tokio::test]
async fn undecodable_success_keeps_the_body() {
    let server = instant_server().await;
    server.set_faults(
        Faults::new(1).rule(
            FaultRule::new(FaultAction::Respond {
                status: 200,
                headers: vec![("content-type".into(), "text/html".into())],
                body: "<html>maintenance</html>".into(),
            })
            .route("/jobs")
            .always(),
        ),
    );
    let err = client(&server).job().get_all().await.unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(decode.status, 200);
    assert_eq!(decode.body.as_ref(), b"<html>maintenance</html>");
    assert_eq!(decode.headers["content-type"], "text/html");
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request() {
    let server = instant_server().await;
    let client = client(&server);
    for id in ["", ".", ".."] {
        let get = client.job().get(id).await.unwrap_err();
        let cancel = client.job().cancel(id).await.unwrap_err();
        let wait = client.job().wait(id).await.unwrap_err();
        for err in [get, cancel, wait] {
            assert!(
                matches!(err, Error::InvalidArgument { name: "job_id", .. }),
                "{id:?}: {err:?}"
            );
        }
    }
    for limit in [0, 501, u32::MAX] {
        let err = client.job().get_all().limit(limit).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: "limit", .. }),
            "{err:?}"
        );
        let err = client
            .job()
            .get_all()
            .limit(limit)
            .stream()
            .try_next()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: "limit", .. }),
            "{err:?}"
        );
    }
    for input in [DocumentInput::from(""), DocumentInput::Urls(vec![])] {
        let err = client.parse().run(input.clone()).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: "input", .. }),
            "{err:?}"
        );
        let err = client.parse().run_job(input).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: "input", .. }),
            "{err:?}"
        );
    }
    assert_eq!(server.requests().len(), 0, "nothing may reach the server");
    // The boundaries themselves are fine.
    client.job().get_all().limit(1).await.unwrap();
    client.job().get_all().limit(500).await.unwrap();
}

#[tokio::test]
async fn job_ids_are_always_one_path_segment() {
    let server = instant_server().await;
    let client = client(&server);
    let ids = [
        "a/b",
        "../version",
        "..%2Fjobs",
        "x?limit=1",
        "x#frag",
        "100%",
        "with space",
        "naïve-ünïcode-ジョブ",
        "a/../../jobs",
        "...",
    ];
    for id in ids {
        let err = client.job().get(id).await.unwrap_err();
        assert!(err.is_not_found(), "{id:?}: {err:?}");
        let err = client.job().cancel(id).await.unwrap_err();
        assert!(err.is_not_found(), "{id:?}: {err:?}");
    }
    for r in server.requests() {
        let segment = r
            .path
            .strip_prefix("/job/")
            .or_else(|| r.path.strip_prefix("/cancel/"))
            .unwrap_or_else(|| panic!("routed elsewhere: {}", r.path));
        assert!(!segment.contains('/'), "{}", r.path);
        assert!(segment.is_ascii() && !segment.contains(' '), "{}", r.path);
        assert_eq!(r.query, None, "{}", r.path);
    }
    // And a seeded job with such an id is found by it.
    let odd = "odd/id?#% ü";
    server.seed_jobs([SeedJob::completed().job_id(odd)]);
    assert_eq!(
        client.job().get(odd).await.unwrap().status,
        JobStatus::Completed
    );
}

#[tokio::test]
async fn newer_api_values_decode_and_are_kept() {
    let server = instant_server().await;
    let client = client(&server);
    let result = serde_json::json!({
        "job_id": "r1", "duration": 1.0, "usage": {"num_pages": 1},
        "brand_new_field": {"nested": true},
        "result": {"type": "full", "chunks": [{
            "content": "x", "embed": "x", "enriched": null,
            "blocks": [{"type": "Marginalia", "content": "x",
                        "bbox": {"left": 0, "top": 0, "width": 1, "height": 1, "page": 1}}]
        }]}
    });
    let ids = server.seed_jobs([
        SeedJob::with_status("Archived").job_type("Translate"),
        SeedJob::completed().result(result),
        SeedJob::completed(),
    ]);

    let job = client.job().get(&ids[0]).await.unwrap();
    assert_eq!(job.status, JobStatus::Other("Archived".into()));
    assert_eq!(job.type_, Some(JobType::Other("Translate".into())));

    let job = client.job().get(&ids[1]).await.unwrap();
    let full = client.parse().full_result(&job).await.unwrap();
    assert_eq!(
        full.chunks[0].blocks[0].type_,
        BlockType::Other("Marginalia".into())
    );

    // One job with a new status never fails the page.
    let page = client.job().get_all().await.unwrap();
    assert_eq!(page.jobs.len(), 3);
    let archived = page.jobs.iter().find(|j| j.job_id == ids[0]).unwrap();
    assert_eq!(archived.status.as_str(), "Archived");
    assert_eq!(archived.type_.to_string(), "Translate");
}

#[tokio::test]
async fn url_results_are_fetched_without_the_key() {
    let server = Server::builder()
        .job_duration(Duration::ZERO)
        .url_result_threshold(64)
        .start()
        .await
        .unwrap();
    let client = client(&server);
    let upload = client
        .upload(Document::bytes(MARKDOWN, "big.md"))
        .await
        .unwrap();
    let parsed = client.parse().run(&upload).await.unwrap();
    let ParseResult::UrlResult(url) = &parsed.result else {
        panic!("expected a URL result: {:?}", parsed.result)
    };
    assert!(url.url.starts_with(&server.url()));
    let full = client.parse().full_result(&parsed).await.unwrap();
    assert_eq!(full.chunks[0].blocks[0].content, "# Report");
    let fetch = server
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/results/"))
        .expect("the result was fetched");
    assert!(!fetch.has_header("authorization"), "{:?}", fetch.headers);
}

#[test]
fn missing_key_is_an_error_at_construction() {
    let err = Reducto::builder().read_env(false).build().unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert!(err.to_string().contains("REDUCTO_API_KEY"), "{err}");
}

#[tokio::test]
async fn a_user_supplied_http_client_is_used() {
    let server = instant_server().await;
    let http = reqwest::Client::builder()
        .default_headers(
            [(
                reqwest::header::HeaderName::from_static("x-from-user-client"),
                reqwest::header::HeaderValue::from_static("yes"),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    let client = Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(server.url())
        .http_client(http)
        .build()
        .unwrap();
    client.job().get_all().await.unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.header("x-from-user-client"), Some("yes"));
    assert_eq!(r.header("authorization"), Some(&*format!("Bearer {KEY}")));
}

/// Compiles only for futures a multi-threaded runtime can spawn.
fn assert_spawnable<F: std::future::Future + Send + 'static>(_: F) {}

/// Compiles only for streams a multi-threaded runtime can drive in a task.
fn assert_spawnable_stream<S: futures::Stream + Send + 'static>(_: S) {}

#[test]
fn every_request_future_and_stream_can_be_spawned() {
    use std::future::IntoFuture;
    // Builders own their client handle: nothing borrows `client`, which is
    // dropped before any future is used.
    let client = Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .build()
        .unwrap();
    let get = client.job().get("x");
    let cancel = client.job().cancel("x");
    let list = client.job().get_all();
    let upload = client.upload("x");
    let run = client.parse().run("x");
    let run_job = client.parse().run_job("x");
    let wait = client.job().wait("x");
    let run_job_wait = client.parse().run_job("x").wait();
    let wait_all = client.job().wait_all(["x"]).stream();
    let watch = client.job().watch("x");
    let pages = client.job().get_all().pages();
    let jobs = client.job().get_all().stream();
    let full = client
        .parse()
        .full_result(reducto::types::ParseResult::FullResult(
            serde_json::from_value(serde_json::json!({"type": "full", "chunks": []})).unwrap(),
        ));
    let version = client.api_version();
    let jobs_handle = client.job();
    let parse_handle = client.parse();
    drop(client);
    assert_spawnable(get.clone().into_future());
    assert_spawnable(get.send());
    assert_spawnable(cancel.clone().into_future());
    assert_spawnable(cancel.send());
    assert_spawnable(list.clone().into_future());
    assert_spawnable(list.send());
    assert_spawnable(upload.into_future());
    assert_spawnable(run.clone().into_future());
    assert_spawnable(run.send());
    assert_spawnable(run_job.clone().into_future());
    assert_spawnable(run_job.send());
    assert_spawnable(wait.clone().into_future());
    assert_spawnable(wait.send());
    assert_spawnable(run_job_wait);
    assert_spawnable(full.into_future());
    assert_spawnable(version);
    assert_spawnable(jobs_handle.get("y").into_future());
    assert_spawnable(parse_handle.run("y").into_future());
    assert_spawnable_stream(wait_all);
    assert_spawnable_stream(watch);
    assert_spawnable_stream(pages);
    assert_spawnable_stream(jobs);
}

#[test]
fn futures_are_send_so_services_can_spawn_them() {
    fn is_send<T: Send>(_: &T) {}
    let client = Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .build()
        .unwrap();
    is_send(&client.job().get("x").send());
    is_send(&client.job().cancel("x").send());
    is_send(&client.job().get_all().send());
    is_send(&client.upload("x").send());
    is_send(&client.parse().run("x").send());
    is_send(&client.parse().run_job("x").send());
    is_send(&client.job().wait("x").send());
    is_send(&client.api_version());
}
