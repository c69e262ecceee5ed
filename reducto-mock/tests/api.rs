//! Phase 1: the API surface, over real HTTP.

mod common;

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use common::*;
use reducto_mock::{SeedJob, Server};
use serde_json::{json, Value};

async fn fast_server() -> Server {
    Server::builder()
        .job_duration(Duration::ZERO)
        .start()
        .await
        .expect("start")
}

// ------------------------------------------------------------------ auth

#[tokio::test]
async fn version_needs_no_auth() {
    let s = Server::start().await;
    let (status, body) = json(
        client()
            .get(format!("{}/version", s.url()))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!(reducto_mock::VERSION));
    assert!(s.url().starts_with("http://127.0.0.1:") && !s.url().ends_with('/'));
    assert_eq!(s.url(), format!("http://{}", s.addr()));
}

#[tokio::test]
async fn auth_missing_or_malformed_is_401() {
    let s = Server::start().await;
    let c = client();
    let url = format!("{}/jobs", s.url());
    for auth in [
        None,
        Some("Basic abc"),
        Some("Bearer"),
        Some("Bearer   "),
        Some("abc"),
    ] {
        let mut req = c.get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let (status, body) = json(req.send().await.expect("send")).await;
        assert_eq!(status, 401, "{auth:?}");
        assert!(body["detail"].is_string());
    }
    // Any non-empty key by default; the scheme is case-insensitive.
    let (status, _) = json(
        c.get(&url)
            .header("authorization", "bearer whatever")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    // Auth applies to every API route, not only /jobs.
    let (status, _) = json(
        c.post(format!("{}/parse", s.url()))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = json(
        c.get(format!("{}/job/x", s.url()))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn configured_api_key_is_enforced() {
    let s = Server::builder().api_key(KEY).start().await.expect("start");
    let c = client();
    let url = format!("{}/jobs", s.url());
    let (status, body) = json(c.get(&url).bearer_auth("wrong").send().await.expect("send")).await;
    assert_eq!(status, 401);
    assert!(body["detail"].is_string());
    let (status, _) = get(&c, &url).await;
    assert_eq!(status, 200);
}

// ------------------------------------------------------------------ routing

#[tokio::test]
async fn unknown_route_and_wrong_method() {
    let s = Server::start().await;
    let c = client();
    let (status, body) = get(&c, &format!("{}/nope", s.url())).await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let (status, body) = get(&c, &format!("{}/parse", s.url())).await;
    assert_eq!(
        (status, body),
        (405, json!({"detail": "Method Not Allowed"}))
    );
    let (status, body) = post_json(&c, &format!("{}/jobs", s.url()), &json!({})).await;
    assert_eq!(
        (status, body),
        (405, json!({"detail": "Method Not Allowed"}))
    );
}

#[tokio::test]
async fn odd_job_ids_are_literal_lookups() {
    let s = Server::start().await;
    let c = client();
    for raw in [
        "a%2Fb",
        "a%3Fb",
        "a%23b",
        "a%25b",
        "a%20b",
        "%FF",
        "..%2F..%2Fjobs",
    ] {
        let (status, body) = get(&c, &format!("{}/job/{raw}", s.url())).await;
        assert_eq!(
            (status, body),
            (404, json!({"detail": "Job not found"})),
            "{raw}"
        );
        let (status, _) = post_json(&c, &format!("{}/cancel/{raw}", s.url()), &json!({})).await;
        assert_eq!(status, 404, "{raw}");
    }
    // The recorded path is the raw, still-encoded one.
    assert_eq!(s.requests()[0].path, "/job/a%2Fb");
    // A seeded job whose id has such characters is found by its literal id.
    s.seed_jobs([SeedJob::completed().job_id("we ird/id?#%")]);
    let (status, body) = get(&c, &format!("{}/job/we%20ird%2Fid%3F%23%25", s.url())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Completed");
}

// ------------------------------------------------------------------ upload

#[tokio::test]
async fn upload_names_extension_from_query_or_filename() {
    let s = Server::start().await;
    let c = client();
    let id = upload(&c, &s.url(), "report.PDF", b"%PDF-1.4".to_vec()).await;
    assert!(id.starts_with("reducto://") && id.ends_with(".PDF"), "{id}");
    let f = s.uploaded_file(&id).expect("stored");
    assert_eq!(f.bytes, b"%PDF-1.4");
    assert_eq!(f.filename.as_deref(), Some("report.PDF"));

    // Query wins over the filename; no filename and no query: no extension.
    let part = reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("x.pdf");
    let (status, body) = json(
        c.post(format!("{}/upload", s.url()))
            .bearer_auth(KEY)
            .query(&[("extension", "txt")])
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_keys(&body, &["file_id", "presigned_url"]);
    assert!(body["presigned_url"].is_null());
    assert!(body["file_id"].as_str().expect("id").ends_with(".txt"));

    let part = reqwest::multipart::Part::bytes(b"raw".to_vec());
    let (_, body) = json(
        c.post(format!("{}/upload", s.url()))
            .bearer_auth(KEY)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .expect("send"),
    )
    .await;
    let id = body["file_id"].as_str().expect("id");
    assert!(!id.trim_start_matches("reducto://").contains('.'), "{id}");

    // The recording shows the multipart parts.
    let reqs = s.requests();
    let r = &reqs[1];
    assert_eq!(r.query.as_deref(), Some("extension=txt"));
    assert!(r
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("multipart/form-data")));
    assert_eq!(r.multipart_parts.len(), 1);
    assert_eq!(r.multipart_parts[0].name, "file");
    assert_eq!(r.multipart_parts[0].filename.as_deref(), Some("x.pdf"));
    assert_eq!(r.multipart_parts[0].size, 5);
    assert!(r.body_len > 5);
}

#[tokio::test]
async fn upload_without_file_part_is_422() {
    let s = Server::start().await;
    let c = client();
    let expected = json!({"detail": [{"loc": ["body", "file"], "msg": "Field required", "type": "missing", "input": null}]});
    let form = reqwest::multipart::Form::new().text("other", "x");
    let (status, body) = json(
        c.post(format!("{}/upload", s.url()))
            .bearer_auth(KEY)
            .multipart(form)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, body), (422, expected.clone()));
    let (status, body) = post_json(&c, &format!("{}/upload", s.url()), &json!({})).await;
    assert_eq!((status, body), (422, expected));
    // Broken multipart: 400, no panic.
    let (status, _) = json(
        c.post(format!("{}/upload", s.url()))
            .bearer_auth(KEY)
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .body("--XYZ\r\ngarbage")
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn upload_of_100_mb_works() {
    let s = Server::start().await;
    let c = client();
    let size = 100 * 1024 * 1024;
    let id = upload(&c, &s.url(), "big.bin", vec![7u8; size]).await;
    let f = s.uploaded_file(&id).expect("stored");
    assert_eq!(f.bytes.len(), size);
    let r = &s.requests()[0];
    assert_eq!(r.multipart_parts[0].size, size);
    // Parsing it gives one block that states the size.
    let (status, body) =
        post_json(&c, &format!("{}/parse", s.url()), &json!({ "input": id })).await;
    assert_eq!(status, 200);
    let content = body["result"]["chunks"][0]["content"]
        .as_str()
        .expect("content");
    assert!(content.contains(&format!("{size} bytes")), "{content}");
}

// ------------------------------------------------------------------ parse

const DOC: &str =
    "# Quarterly report\n\nRevenue grew.\nA lot.\n\n## Details\n\n- one\n- two\n\nClosing words.\n";

#[tokio::test]
async fn sync_parse_of_markdown() {
    let s = Server::builder()
        .chunk_size(40)
        .start()
        .await
        .expect("start");
    let c = client();
    let id = upload(&c, &s.url(), "doc.md", DOC.as_bytes().to_vec()).await;
    let (status, body) = post_json(
        &c,
        &format!("{}/parse", s.url()),
        &json!({ "input": id, "enhance": {"summarize_figures": false}, "queue_priority": "batch" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    check_parse_response(&body);
    assert_eq!(body["result"]["type"], "full");
    assert_eq!(body["usage"]["num_pages"], 1);
    let chunks = body["result"]["chunks"].as_array().expect("chunks");
    let blocks: Vec<&Value> = chunks
        .iter()
        .flat_map(|c| c["blocks"].as_array().expect("blocks"))
        .collect();
    let kinds: Vec<&str> = blocks
        .iter()
        .map(|b| b["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        kinds,
        ["Title", "Text", "Section Header", "List Item", "Text"]
    );
    assert_eq!(blocks[1]["content"], "Revenue grew.\nA lot.");
    assert_eq!(blocks[0]["confidence"], "high");
    assert!(chunks.len() > 1, "chunk size 40 splits the document");
    for ch in chunks {
        assert!(ch["content"].as_str().expect("content").chars().count() <= 40);
    }
    // The job is listed and its raw_config is the body as sent.
    let (_, job) = get(
        &c,
        &format!("{}/job/{}", s.url(), body["job_id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(job["status"], "Completed");
    let raw: Value = serde_json::from_str(job["raw_config"].as_str().expect("raw")).expect("json");
    assert_eq!(raw["queue_priority"], "batch");
    assert_eq!(job["source"], json!(id));
}

#[tokio::test]
async fn parse_inputs_url_object_list_and_jobid() {
    let s = fast_server().await;
    let c = client();
    let url = format!("{}/parse", s.url());
    let (status, body) = post_json(&c, &url, &json!({"input": "https://example.com/a.pdf"})).await;
    assert_eq!(status, 200);
    let text = body["result"]["chunks"][0]["content"]
        .as_str()
        .expect("content");
    assert!(text.contains("https://example.com/a.pdf"));

    let id = upload(&c, &s.url(), "a.txt", b"one\n\x0ctwo".to_vec()).await;
    let (status, body) = post_json(
        &c,
        &url,
        &json!({"input": {"file_id": id, "presigned_url": null}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["usage"]["num_pages"], 2, "form feed starts a page");
    let first_job = body["job_id"].as_str().expect("id").to_owned();

    let (status, body) = post_json(&c, &url, &json!({"input": [id, "http://x.test/b"]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["usage"]["num_pages"], 3);

    let (status, body) =
        post_json(&c, &url, &json!({"input": format!("jobid://{first_job}")})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["chunks"][0]["content"], "one\n\ntwo");

    let (status, body) = post_json(&c, &url, &json!({"input": "jobid://nope"})).await;
    assert_eq!((status, body), (404, json!({"detail": "Job not found"})));
    let (status, body) = post_json(&c, &url, &json!({"input": "reducto://missing.pdf"})).await;
    assert_eq!(status, 404);
    assert!(body["detail"]
        .as_str()
        .expect("detail")
        .contains("reducto://missing.pdf"));
}

#[tokio::test]
async fn parse_validation_errors_are_fastapi_shaped() {
    let s = Server::start().await;
    let c = client();
    let url = format!("{}/parse_async", s.url());
    let send_raw = |body: &'static str| {
        c.post(&url)
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let (status, body) = json(send_raw("{not json").await.expect("send")).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(body["detail"][0]["loc"][0], "body");

    let (status, body) = json(send_raw("").await.expect("send")).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body"]));

    let (status, body) = post_json(&c, &url, &json!({"enhance": {}})).await;
    assert_eq!(status, 422);
    let e = &body["detail"][0];
    assert_eq!(
        (e["type"].as_str(), &e["loc"]),
        (Some("missing"), &json!(["body", "input"]))
    );
    assert_eq!(e["msg"], "Field required");

    let (status, body) = post_json(&c, &url, &json!({"input": 5})).await;
    assert_eq!(status, 422);
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert!(locs.contains(&&json!(["body", "input", "str"])), "{body}");

    let (status, body) = post_json(&c, &url, &json!({"input": "ftp://x"})).await;
    assert_eq!(status, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "input"]));

    let (status, body) = post_json(
        &c,
        &url,
        &json!({"input": "https://x.test", "settings": 3, "queue_priority": "urgent"}),
    )
    .await;
    assert_eq!(status, 422);
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["body", "settings"]),
            &json!(["body", "queue_priority"])
        ]
    );

    let (status, _) = post_json(&c, &url, &json!([1, 2])).await;
    assert_eq!(status, 422);
    for e in s.requests() {
        assert_eq!(e.path, "/parse_async");
    }
    assert_eq!(s.job_count(), 0, "no job for invalid requests");
}

#[tokio::test]
async fn failing_document() {
    let s = fast_server().await;
    let c = client();
    let id = upload(&c, &s.url(), "bad.pdf", b"xx REDUCTO_MOCK_FAIL xx".to_vec()).await;
    let (status, body) = post_json(&c, &format!("{}/parse", s.url()), &json!({"input": id})).await;
    assert_eq!(status, 500);
    assert_eq!(body["detail"], "Mock failure requested by document content");

    let (_, body) = post_json(
        &c,
        &format!("{}/parse_async", s.url()),
        &json!({"input": id}),
    )
    .await;
    let (status, job) = get(
        &c,
        &format!("{}/job/{}", s.url(), body["job_id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(job["status"], "Failed");
    assert_eq!(job["reason"], "Mock failure requested by document content");
    assert!(job["result"].is_null());
}

// ------------------------------------------------------------------ jobs

const JOB_KEYS: &[&str] = &[
    "status",
    "result",
    "progress",
    "reason",
    "type",
    "num_pages",
    "total_pages",
    "source",
    "duration",
    "created_at",
    "raw_config",
    "bucket",
];

#[tokio::test]
async fn async_job_with_zero_duration_completes_on_first_look() {
    let s = fast_server().await;
    let c = client();
    let id = upload(&c, &s.url(), "a.md", DOC.as_bytes().to_vec()).await;
    let (status, body) = post_json(
        &c,
        &format!("{}/parse_async", s.url()),
        &json!({"input": id}),
    )
    .await;
    assert_eq!(status, 200);
    assert_keys(&body, &["job_id"]);
    let job_id = body["job_id"].as_str().expect("id");
    let (status, job) = get(&c, &format!("{}/job/{job_id}", s.url())).await;
    assert_eq!(status, 200);
    assert_keys(&job, JOB_KEYS);
    assert_eq!(job["status"], "Completed");
    assert_eq!(job["type"], "Parse");
    // A fraction, as Reducto reports it (its CLI prints progress x 100).
    assert_eq!(job["progress"], 1.0);
    assert!(job["reason"].is_null() && job["bucket"].is_null());
    assert_eq!(job["num_pages"], 1);
    check_parse_response(&job["result"]);
    assert_eq!(job["result"]["job_id"], job_id);
    let created = job["created_at"].as_str().expect("created_at");
    assert!(
        created.len() == 27 && created.ends_with('Z') && &created[10..11] == "T",
        "{created}"
    );
}

#[tokio::test(start_paused = true)]
async fn async_job_progresses_with_the_tokio_clock() {
    let s = Server::builder()
        .job_duration(Duration::from_secs(10))
        .start()
        .await
        .expect("start");
    let c = client();
    let (_, body) = post_json(
        &c,
        &format!("{}/parse_async", s.url()),
        &json!({"input": "https://example.com/x.pdf"}),
    )
    .await;
    let url = format!("{}/job/{}", s.url(), body["job_id"].as_str().expect("id"));
    let (_, job) = get(&c, &url).await;
    assert_keys(&job, JOB_KEYS);
    assert_eq!(job["status"], "Pending");
    assert!(job["result"].is_null());
    assert!(job["progress"].as_f64().expect("progress") < 1.0);

    tokio::time::advance(Duration::from_secs(4)).await;
    let (_, job) = get(&c, &url).await;
    assert_eq!(job["status"], "Pending");
    let p = job["progress"].as_f64().expect("progress");
    assert!((0.39..0.45).contains(&p), "{p}");

    tokio::time::advance(Duration::from_secs(7)).await;
    let (_, job) = get(&c, &url).await;
    assert_eq!(job["status"], "Completed");
    check_parse_response(&job["result"]);
    assert_eq!(job["duration"], 10.0);
}

#[tokio::test(start_paused = true)]
async fn cancel_pending_finished_and_unknown() {
    let s = Server::builder()
        .job_duration(Duration::from_secs(10))
        .start()
        .await
        .expect("start");
    let c = client();
    let new_job = || async {
        let (_, b) = post_json(
            &c,
            &format!("{}/parse_async", s.url()),
            &json!({"input": "https://example.com/x.pdf"}),
        )
        .await;
        b["job_id"].as_str().expect("id").to_owned()
    };
    let a = new_job().await;
    let (status, body) = post_json(&c, &format!("{}/cancel/{a}", s.url()), &json!({})).await;
    assert_eq!(
        (status, body),
        (200, json!({"job_id": a, "status": "Cancelled"}))
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    let (_, job) = get(&c, &format!("{}/job/{a}", s.url())).await;
    // Within the spec: /job documents no Cancelled, so the job is Failed
    // with the cancel as its reason; it never completes.
    assert_eq!(job["status"], "Failed", "cancelled jobs never complete");
    assert_eq!(job["reason"], "Job cancelled by user");

    let b = new_job().await;
    tokio::time::advance(Duration::from_secs(11)).await;
    let (status, body) = post_json(&c, &format!("{}/cancel/{b}", s.url()), &json!({})).await;
    assert_eq!(
        (status, body),
        (200, json!({"job_id": b, "status": "Completed"}))
    );
    let (status, body) = post_json(&c, &format!("{}/cancel/nope", s.url()), &json!({})).await;
    assert_eq!((status, body), (404, json!({"detail": "Job not found"})));

    // /jobs shows the cancelled status too.
    let (_, list) = get(&c, &format!("{}/jobs", s.url())).await;
    let statuses: Vec<&str> = list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["status"].as_str().expect("s"))
        .collect();
    assert_eq!(statuses, ["Completed", "Cancelled"]);
}

#[tokio::test]
async fn unknown_job_is_404() {
    let s = Server::start().await;
    let (status, body) = get(&client(), &format!("{}/job/nope", s.url())).await;
    assert_eq!((status, body), (404, json!({"detail": "Job not found"})));
}

// ------------------------------------------------------------------ /jobs

const SINGLE_JOB_KEYS: &[&str] = &[
    "job_id",
    "status",
    "type",
    "raw_config",
    "created_at",
    "source",
    "num_pages",
    "total_pages",
    "duration",
    "bucket",
];

/// Walk all pages; returns job ids in order and the number of pages.
async fn walk(c: &reqwest::Client, base: &str, limit: u32) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![("limit", limit.to_string())];
        if let Some(cur) = &cursor {
            q.push(("cursor", cur.clone()));
        }
        let (status, body) = json(
            c.get(format!("{base}/jobs"))
                .bearer_auth(KEY)
                .query(&q)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_keys(&body, &["jobs", "next_cursor"]);
        pages += 1;
        for j in body["jobs"].as_array().expect("jobs") {
            assert_keys(j, SINGLE_JOB_KEYS);
            ids.push(j["job_id"].as_str().expect("id").to_owned());
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 1000, "runaway pagination");
    }
    (ids, pages)
}

#[tokio::test]
async fn pagination_visits_every_job_once_newest_first() {
    let s = Server::start().await;
    let c = client();
    let seeded = s.seed_jobs((0..2500).map(|_| SeedJob::completed()));
    assert_eq!(s.job_count(), 2500);
    let (ids, pages) = walk(&c, &s.url(), 500).await;
    assert_eq!(pages, 5);
    let expected: Vec<String> = seeded.iter().rev().cloned().collect();
    assert_eq!(ids, expected);

    // Exactly divisible and not: 2500 / 7.
    let (ids, pages) = walk(&c, &s.url(), 7).await;
    assert_eq!(pages, 358);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 2500);

    // Default limit is 100.
    let (_, body) = get(&c, &format!("{}/jobs", s.url())).await;
    assert_eq!(body["jobs"].as_array().expect("jobs").len(), 100);
    assert!(body["next_cursor"].is_string());
}

#[tokio::test]
async fn pagination_is_stable_while_jobs_are_added() {
    let s = Server::start().await;
    let c = client();
    let old = s.seed_jobs((0..30).map(|_| SeedJob::completed()));
    let (_, page1) = get(&c, &format!("{}/jobs?limit=10", s.url())).await;
    let cursor = page1["next_cursor"].as_str().expect("cursor").to_owned();
    // New jobs arrive between pages: they are newer, so they do not shift
    // the rest of the walk.
    s.seed_jobs((0..5).map(|_| SeedJob::completed()));
    let (_, page2) = get(&c, &format!("{}/jobs?limit=10&cursor={cursor}", s.url())).await;
    let ids: Vec<&str> = page2["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["job_id"].as_str().expect("id"))
        .collect();
    let expected: Vec<&str> = old[10..20].iter().rev().map(String::as_str).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn created_at_orders_seeded_jobs() {
    let s = Server::start().await;
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ids = s.seed_jobs([
        SeedJob::completed().created_at(t0 + Duration::from_secs(10)),
        SeedJob::completed().created_at(t0),
        SeedJob::completed().created_at(t0 + Duration::from_secs(20)),
    ]);
    let (_, body) = get(&client(), &format!("{}/jobs", s.url())).await;
    let got: Vec<&str> = body["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["job_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [ids[2].as_str(), &ids[0], &ids[1]]);
    assert_eq!(body["jobs"][2]["created_at"], "2023-11-14T22:13:20.000000Z");
    assert!(body["next_cursor"].is_null());
}

#[tokio::test]
async fn jobs_query_validation_and_exclude_configs() {
    let s = Server::start().await;
    let c = client();
    s.seed_jobs([SeedJob::completed().raw_config(r#"{"input":"x"}"#)]);
    let (status, body) = get(&c, &format!("{}/jobs?limit=501", s.url())).await;
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail":[{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 500","input":"501","ctx":{"le":500}}]})
    );
    let (status, body) = get(&c, &format!("{}/jobs?limit=0", s.url())).await;
    assert_eq!(
        (status, &body["detail"][0]["type"]),
        (422, &json!("greater_than_equal"))
    );
    let (status, body) = get(&c, &format!("{}/jobs?limit=ten", s.url())).await;
    assert_eq!(
        (status, &body["detail"][0]["type"]),
        (422, &json!("int_parsing"))
    );
    let (status, body) = get(&c, &format!("{}/jobs?cursor=zzz", s.url())).await;
    assert_eq!(
        (status, &body["detail"][0]["loc"]),
        (422, &json!(["query", "cursor"]))
    );
    let (status, body) = get(&c, &format!("{}/jobs?exclude_configs=maybe", s.url())).await;
    assert_eq!(
        (status, &body["detail"][0]["loc"]),
        (422, &json!(["query", "exclude_configs"]))
    );

    let (_, body) = get(
        &c,
        &format!("{}/jobs?limit=1&exclude_configs=false", s.url()),
    )
    .await;
    assert_eq!(body["jobs"][0]["raw_config"], r#"{"input":"x"}"#);
    assert!(body["next_cursor"].is_null());
    let (_, body) = get(&c, &format!("{}/jobs?exclude_configs=true", s.url())).await;
    assert_eq!(body["jobs"][0]["raw_config"], "");
}

#[tokio::test]
async fn seeded_unknown_status_and_type_are_served_as_is() {
    let s = Server::start().await;
    let c = client();
    let ids = s.seed_jobs([
        SeedJob::with_status("Archived").job_type("Hologram"),
        SeedJob::failed("boom"),
        SeedJob::pending(),
    ]);
    let (status, job) = get(&c, &format!("{}/job/{}", s.url(), ids[0])).await;
    assert_eq!(status, 200);
    assert_keys(&job, JOB_KEYS);
    assert_eq!(job["status"], "Archived");
    assert_eq!(job["type"], "Hologram");
    let (_, job) = get(&c, &format!("{}/job/{}", s.url(), ids[1])).await;
    assert_eq!(
        (&job["status"], &job["reason"]),
        (&json!("Failed"), &json!("boom"))
    );
    let (_, list) = get(&c, &format!("{}/jobs", s.url())).await;
    let statuses: Vec<&str> = list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["status"].as_str().expect("s"))
        .collect();
    assert_eq!(statuses, ["Pending", "Failed", "Archived"]);
    assert_eq!(list["jobs"][2]["type"], "Hologram");
    // Seeded completed jobs get a generated ParseResponse.
    let ok = s.seed_jobs([SeedJob::completed()]);
    let (_, job) = get(&c, &format!("{}/job/{}", s.url(), ok[0])).await;
    check_parse_response(&job["result"]);
    // Seeded pending jobs can be cancelled.
    let (_, body) = post_json(&c, &format!("{}/cancel/{}", s.url(), ids[2]), &json!({})).await;
    assert_eq!(body["status"], "Cancelled");
}

// ------------------------------------------------------------------ url results

#[tokio::test]
async fn large_results_become_url_results_served_without_auth() {
    let s = Server::builder()
        .job_duration(Duration::ZERO)
        .url_result_threshold(200)
        .start()
        .await
        .expect("start");
    let c = client();
    let id = upload(&c, &s.url(), "a.md", DOC.as_bytes().to_vec()).await;
    let (status, body) = post_json(&c, &format!("{}/parse", s.url()), &json!({"input": id})).await;
    assert_eq!(status, 200);
    check_parse_response(&body);
    let result = &body["result"];
    assert_eq!(result["type"], "url");
    let url = result["url"].as_str().expect("url");
    assert_eq!(
        url,
        format!(
            "{}/results/{}",
            s.url(),
            result["result_id"].as_str().expect("id")
        )
    );

    s.clear_requests();
    let (status, full) = json(c.get(url).send().await.expect("send")).await;
    assert_eq!(status, 200);
    assert_eq!(full["type"], "full");
    check_full_result(&full);
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1);
    assert!(!reqs[0].has_header("authorization"));
    assert!(reqs[0].path.starts_with("/results/"));

    // The async job's result is the same kind of object.
    let (_, b) = post_json(
        &c,
        &format!("{}/parse_async", s.url()),
        &json!({"input": id}),
    )
    .await;
    let (_, job) = get(
        &c,
        &format!("{}/job/{}", s.url(), b["job_id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(job["result"]["result"]["type"], "url");

    let (status, body) = get(&c, &format!("{}/results/nope", s.url())).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn small_results_inline_unless_forced() {
    let s = Server::builder()
        .url_result_threshold(1_000_000)
        .start()
        .await
        .expect("start");
    let c = client();
    let url = format!("{}/parse", s.url());
    let (_, body) = post_json(&c, &url, &json!({"input": "https://x.test/a"})).await;
    assert_eq!(body["result"]["type"], "full");
    let (_, body) = post_json(
        &c,
        &url,
        &json!({"input": "https://x.test/a", "settings": {"force_url_result": true}}),
    )
    .await;
    assert_eq!(body["result"]["type"], "url");
}

// ------------------------------------------------------------------ latency & lifecycle

#[tokio::test(start_paused = true)]
async fn sync_and_page_latency_use_the_tokio_clock() {
    let s = Server::builder()
        .sync_latency(Duration::from_secs(30))
        .page_latency(Duration::from_secs(5))
        .start()
        .await
        .expect("start");
    let c = client();
    let t = tokio::time::Instant::now();
    let (status, body) = post_json(
        &c,
        &format!("{}/parse", s.url()),
        &json!({"input": "https://x.test"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["duration"], 30.0);
    assert!(t.elapsed() >= Duration::from_secs(30));
    let t = tokio::time::Instant::now();
    get(&c, &format!("{}/jobs", s.url())).await;
    assert!(t.elapsed() >= Duration::from_secs(5));
}

#[tokio::test]
async fn shutdown_closes_the_listener() {
    let s = Server::start().await;
    let addr = s.addr();
    let (status, _) = get(&client(), &format!("{}/jobs", s.url())).await;
    assert_eq!(status, 200);
    s.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    // Drop also stops the server (without waiting).
    let s = Server::start().await;
    let addr = s.addr();
    drop(s);
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed);
}

#[tokio::test(start_paused = true)]
async fn cancelled_on_get_job_keeps_the_old_off_spec_answer() {
    let s = Server::builder()
        .job_duration(Duration::from_secs(10))
        .cancelled_on_get_job(true)
        .start()
        .await
        .expect("start");
    let c = client();
    let (_, b) = post_json(
        &c,
        &format!("{}/parse_async", s.url()),
        &json!({"input": "https://example.com/x.pdf"}),
    )
    .await;
    let id = b["job_id"].as_str().expect("id").to_owned();
    post_json(&c, &format!("{}/cancel/{id}", s.url()), &json!({})).await;
    let (_, job) = get(&c, &format!("{}/job/{id}", s.url())).await;
    assert_eq!(job["status"], "Cancelled");
    assert_eq!(job["reason"], "Job cancelled by user");
}

#[tokio::test]
async fn record_and_upload_limits_bound_memory() {
    let s = Server::builder()
        .job_duration(Duration::ZERO)
        .record_limit(3)
        .upload_limit(2)
        .start()
        .await
        .expect("start");
    let c = client();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(upload(&c, &s.url(), &format!("{i}.md"), DOC.as_bytes().to_vec()).await);
    }
    // Only the last 3 requests are recorded, the last 2 uploads kept.
    let recorded = s.requests();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|r| r.path == "/upload"));
    assert!(s.uploaded_file(&ids[0]).is_none());
    assert!(s.uploaded_file(&ids[2]).is_none());
    assert!(s.uploaded_file(&ids[3]).is_some());
    assert!(s.uploaded_file(&ids[4]).is_some());

    let off = Server::builder()
        .record_limit(0)
        .start()
        .await
        .expect("start");
    get(&c, &format!("{}/version", off.url())).await;
    assert!(off.requests().is_empty());
}
