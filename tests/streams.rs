//! `client.job().get_all().stream()` / `.pages()` against the local server:
//! completeness and order over many pages, laziness, prefetch bounds,
//! cursor loops, failed and flaky pages, resuming, forward compatibility.
//!
//! Tests run on a paused tokio clock: page latency and retry backoff are
//! virtual, and [`common::idle`] is a "nothing left to do" sync point.

mod common;

use std::time::Duration;

use common::*;
use futures::{StreamExt, TryStreamExt};
use reducto::{Error, JobStatus, JobType, RetryPolicy};
use reducto_mock::{FaultAction, FaultRule, Faults, SeedJob, Server};
use tokio::time::Instant;

/// A server with `n` seeded completed jobs; returns the ids newest first
/// (the order `/jobs` lists them in).
async fn seeded(n: usize) -> (Server, Vec<String>) {
    let server = Server::start().await;
    let mut ids = server.seed_jobs((0..n).map(|_| SeedJob::completed()));
    ids.reverse();
    (server, ids)
}

#[tokio::test(start_paused = true)]
async fn every_job_exactly_once_newest_first_whatever_the_prefetch() {
    let (server, expected) = seeded(1_234).await;
    let client = client_for(&server);
    for prefetch in [0, 1, 3] {
        server.clear_requests();
        let got: Vec<String> = client
            .job()
            .get_all()
            .limit(100)
            .prefetch(prefetch)
            .stream()
            .map_ok(|job| job.job_id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.len(), 1_234, "prefetch {prefetch}");
        assert_eq!(got, expected, "prefetch {prefetch}: order or content");
        // 12 full pages and one of 34; nothing requested past the last page.
        assert_eq!(list_requests(&server), 13, "prefetch {prefetch}");
    }
    // The default (1) gives the same.
    server.clear_requests();
    let got: Vec<String> = client
        .job()
        .get_all()
        .limit(100)
        .stream()
        .map_ok(|job| job.job_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, expected);
    assert_eq!(list_requests(&server), 13);
}

#[tokio::test(start_paused = true)]
async fn limit_and_exclude_configs_are_sent_with_every_page() {
    let server = Server::start().await;
    server.seed_jobs((0..250).map(|_| SeedJob::completed().raw_config(r#"{"big":"config"}"#)));
    let client = client_for(&server);

    let pages: Vec<_> = client
        .job()
        .get_all()
        .limit(100)
        .exclude_configs(true)
        .pages()
        .try_collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = pages.iter().map(|p| p.jobs.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    // The server honoured exclude_configs on every page.
    assert!(pages
        .iter()
        .flat_map(|p| &p.jobs)
        .all(|j| j.raw_config.is_empty()));

    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(requests.len(), 3);
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(
            query_param(request, "limit").as_deref(),
            Some("100"),
            "page {i}"
        );
        assert_eq!(
            query_param(request, "exclude_configs").as_deref(),
            Some("true"),
            "page {i}"
        );
        // Each page asks for the cursor the previous one returned.
        let expected_cursor = match i {
            0 => None,
            _ => pages[i - 1].next_cursor.clone(),
        };
        assert_eq!(query_param(request, "cursor"), expected_cursor, "page {i}");
        assert_eq!(pages[i].cursor, expected_cursor, "page {i}");
    }
    assert_eq!(pages[2].next_cursor, None);

    // Without the options, none is sent.
    server.clear_requests();
    let all: Vec<_> = client.job().get_all().stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 250);
    assert_eq!(all[0].raw_config, r#"{"big":"config"}"#);
    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(requests.len(), 3, "server default page size is 100");
    assert_eq!(query(&requests[0]), []);
    assert_eq!(query_param(&requests[1], "limit"), None);
    assert_eq!(query_param(&requests[1], "exclude_configs"), None);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_sent_until_the_first_poll_which_sends_one_request() {
    let (server, expected) = seeded(250).await;
    let client = client_for(&server);

    for prefetch in [0, 1, 3] {
        server.clear_requests();
        let mut stream = client
            .job()
            .get_all()
            .limit(100)
            .prefetch(prefetch)
            .stream();
        idle(60).await;
        assert_eq!(
            list_requests(&server),
            0,
            "prefetch {prefetch}: created, not polled"
        );

        // One poll, then let everything settle without polling again.
        assert!(futures::poll!(stream.next()).is_pending());
        idle(60).await;
        assert_eq!(list_requests(&server), 1, "prefetch {prefetch}: one poll");

        // Taking the first job: now `prefetch` more pages may be fetched.
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(first.job_id, expected[0]);
        idle(60).await;
        assert_eq!(
            list_requests(&server),
            (1 + prefetch).min(3),
            "prefetch {prefetch}: after the first page is delivered"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn stopping_early_sends_at_most_prefetch_more_requests_and_then_none() {
    let (server, expected) = seeded(1_000).await;
    let client = client_for(&server);

    for (prefetch, take, at_most) in [(0, 5, 1), (1, 5, 2), (3, 5, 4), (1, 150, 3)] {
        server.clear_requests();
        let got: Vec<String> = client
            .job()
            .get_all()
            .limit(100)
            .prefetch(prefetch)
            .stream()
            .take(take)
            .map(|job| job.unwrap().job_id)
            .collect()
            .await;
        // `take` has dropped the stream here.
        assert_eq!(got, expected[..take]);
        let sent = list_requests(&server);
        let needed = take.div_ceil(100);
        assert!(
            (needed..=at_most).contains(&sent),
            "prefetch {prefetch}, take {take}: {sent} requests, expected {needed}..={at_most}"
        );
        if prefetch == 0 {
            assert_eq!(sent, needed, "no prefetch: only what was consumed");
        }
        // Nothing more, however long we wait.
        idle(600).await;
        assert_eq!(
            list_requests(&server),
            sent,
            "prefetch {prefetch}: after drop"
        );
    }

    // A consumer that holds the stream after 5 jobs: exactly `prefetch`
    // pages are fetched ahead, then nothing until it asks or drops.
    for prefetch in [0, 1, 3] {
        server.clear_requests();
        let mut stream = client
            .job()
            .get_all()
            .limit(100)
            .prefetch(prefetch)
            .stream();
        for expected_id in &expected[..5] {
            assert_eq!(&stream.next().await.unwrap().unwrap().job_id, expected_id);
        }
        idle(600).await;
        assert_eq!(
            list_requests(&server),
            1 + prefetch,
            "held, prefetch {prefetch}"
        );
        drop(stream);
        idle(600).await;
        assert_eq!(
            list_requests(&server),
            1 + prefetch,
            "dropped, prefetch {prefetch}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_mid_request_stops_the_driver() {
    let server = Server::builder()
        .page_latency(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    server.seed_jobs((0..1_000).map(|_| SeedJob::completed()));
    let client = client_for(&server);

    let mut stream = client.job().get_all().limit(100).prefetch(3).stream();
    stream.next().await.unwrap().unwrap();
    // Page 2 is being prefetched (the server holds it for 2 s).
    idle(1).await;
    assert_eq!(list_requests(&server), 2);
    drop(stream);
    idle(600).await;
    assert_eq!(list_requests(&server), 2, "no request after the drop");
}

#[tokio::test(start_paused = true)]
async fn the_next_page_is_requested_while_the_consumer_holds_the_current_one() {
    let server = Server::builder()
        .page_latency(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    server.seed_jobs((0..300).map(|_| SeedJob::completed()));
    let client = client_for(&server);

    // Prefetch 1: page 2 is requested as soon as page 1 is handed over.
    let start = Instant::now();
    let mut pages = client.job().get_all().limit(100).prefetch(1).pages();
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(first.jobs.len(), 100);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    // The consumer works on page 1 for half a second, asking for nothing...
    tokio::time::sleep(Duration::from_millis(500)).await;
    // ...and page 2's request is already at the server.
    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(requests.len(), 2, "page 2 prefetched");
    assert_eq!(query_param(&requests[1], "cursor"), first.next_cursor);
    // Page 2 arrives 2 s after page 1 (not 2 s after the consumer asked).
    let second = pages.next().await.unwrap().unwrap();
    assert_eq!(second.cursor, first.next_cursor);
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    drop(pages);

    // Prefetch 0, same consumer: page 2 is only requested when asked for.
    server.clear_requests();
    let start = Instant::now();
    let mut pages = client.job().get_all().limit(100).prefetch(0).pages();
    pages.next().await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(list_requests(&server), 1, "no prefetch");
    pages.next().await.unwrap().unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(4_500));
}

#[tokio::test(start_paused = true)]
async fn a_cursor_loop_ends_the_stream_with_an_error() {
    let (server, expected) = seeded(30).await;
    server.set_faults(Faults::new(0).cursor_loop());
    let client = client_for(&server);

    let mut stream = client.job().get_all().limit(10).stream();
    let mut seen = Vec::new();
    let error = loop {
        match stream.next().await {
            Some(Ok(job)) => seen.push(job.job_id),
            Some(Err(e)) => break e,
            None => panic!(
                "the stream ended without an error after {} jobs",
                seen.len()
            ),
        }
    };
    // Page 1, then page 2 fetched with page 1's cursor, which returns that
    // same cursor again: the loop is caught there.
    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(requests.len(), 2);
    let repeated = query_param(&requests[1], "cursor").expect("page 2 has a cursor");
    match &error {
        Error::CursorLoop { cursor } => assert_eq!(cursor, &repeated),
        other => panic!("expected CursorLoop, got {other:?}"),
    }
    assert_eq!(seen.len(), 20);
    assert_eq!(seen[..10], expected[..10]);
    assert_eq!(
        seen[10..],
        expected[..10],
        "the looping page repeats the top"
    );
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
    idle(600).await;
    assert_eq!(list_requests(&server), 2, "no more requests");
}

/// A `GET /jobs` response body from the given job ids.
fn page_json(ids: &[&str], next_cursor: Option<&str>) -> serde_json::Value {
    let jobs: Vec<_> = ids
        .iter()
        .map(|id| {
            serde_json::json!({
                "job_id": id, "status": "Completed", "type": "Parse", "raw_config": "{}",
                "created_at": "2025-06-03T14:30:00Z", "source": null, "num_pages": 1,
                "total_pages": 1, "duration": 1.0, "bucket": null,
            })
        })
        .collect();
    serde_json::json!({ "jobs": jobs, "next_cursor": next_cursor })
}

// wiremock serves from its own thread: a paused clock would auto-advance
// while this runtime waits for it (and fire the request timeout), so this
// test runs on the real clock. Nothing in it sleeps.
#[tokio::test]
async fn an_empty_page_with_a_cursor_does_not_end_the_stream() {
    use wiremock::{
        matchers::{method, path, query_param, query_param_is_missing},
        Mock, MockServer, ResponseTemplate,
    };
    let mock = MockServer::start().await;
    let pages = [
        (None, page_json(&["a", "b"], Some("c1"))),
        (Some("c1"), page_json(&[], Some("c2"))),
        (Some("c2"), page_json(&["d"], None)),
    ];
    for (cursor, body) in pages {
        let mock_page = Mock::given(method("GET")).and(path("/jobs"));
        let mock_page = match cursor {
            None => mock_page.and(query_param_is_missing("cursor")),
            Some(c) => mock_page.and(query_param("cursor", c)),
        };
        mock_page
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&mock)
            .await;
    }
    let client = builder_for(&mock.uri()).build().unwrap();

    for prefetch in [0, 1, 3] {
        let before = mock.received_requests().await.unwrap().len();
        let ids: Vec<String> = client
            .job()
            .get_all()
            .prefetch(prefetch)
            .stream()
            .map_ok(|j| j.job_id)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ids, ["a", "b", "d"], "prefetch {prefetch}");
        let cursors: Vec<Option<String>> = mock.received_requests().await.unwrap()[before..]
            .iter()
            .map(|r| {
                r.url
                    .query_pairs()
                    .find(|(k, _)| k == "cursor")
                    .map(|(_, v)| v.into_owned())
            })
            .collect();
        assert_eq!(
            cursors,
            [None, Some("c1".to_owned()), Some("c2".to_owned())],
            "prefetch {prefetch}"
        );
    }
    // pages() shows the empty page itself.
    let sizes: Vec<usize> = client
        .job()
        .get_all()
        .pages()
        .map_ok(|p| p.jobs.len())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sizes, [2, 0, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_page_ends_the_stream_and_resume_cursor_continues_exactly_there() {
    let (server, expected) = seeded(1_000).await;
    let client = builder_for(&server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();

    let mut stream = client.job().get_all().limit(100).stream();
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.push(stream.next().await.unwrap().unwrap().job_id);
    }
    // Page 1 consumed, page 2 prefetched; the next request (page 3) fails.
    idle(60).await;
    assert_eq!(list_requests(&server), 2);
    server.set_faults(
        Faults::new(0).rule(
            FaultRule::new(FaultAction::Status(503))
                .route("/jobs")
                .times(1),
        ),
    );
    let error = loop {
        match stream.next().await {
            Some(Ok(job)) => seen.push(job.job_id),
            Some(Err(e)) => break e,
            None => panic!("ended without an error"),
        }
    };
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(seen.len(), 200, "pages 1 and 2, then the error");
    assert!(stream.next().await.is_none(), "the error ends the stream");

    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(
        requests.len(),
        3,
        "RetryPolicy::none(): the page is tried once"
    );
    assert_eq!(requests[2].faults, [FaultAction::Status(503)]);
    let resume = stream.resume_cursor().expect("a cursor to resume from");
    assert_eq!(
        Some(resume.to_owned()),
        query_param(&requests[2], "cursor"),
        "resume where the failed page would have started"
    );

    let rest: Vec<String> = client
        .job()
        .get_all()
        .limit(100)
        .cursor(resume)
        .stream()
        .map_ok(|j| j.job_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest.len(), 800);
    seen.extend(rest);
    assert_eq!(seen, expected, "every job exactly once, in order");
}

#[tokio::test(start_paused = true)]
async fn a_failed_first_page_resumes_from_the_beginning() {
    let (server, expected) = seeded(150).await;
    server.set_faults(
        Faults::new(0).rule(
            FaultRule::new(FaultAction::Status(500))
                .route("/jobs")
                .times(1),
        ),
    );
    let client = builder_for(&server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut stream = client.job().get_all().limit(100).stream();
    let error = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    assert_eq!(
        stream.resume_cursor(),
        None,
        "nothing delivered: from the top"
    );
    assert!(stream.next().await.is_none());
    let all: Vec<String> = client
        .job()
        .get_all()
        .limit(100)
        .stream()
        .map_ok(|j| j.job_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, expected);
}

#[tokio::test(start_paused = true)]
async fn one_flaky_page_is_retried_and_the_stream_goes_on() {
    let (server, expected) = seeded(1_000).await;
    let client = builder_for(&server.url())
        .retry(RetryPolicy::default().jitter(false))
        .build()
        .unwrap();

    let mut stream = client.job().get_all().limit(100).stream();
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.push(stream.next().await.unwrap().unwrap().job_id);
    }
    idle(60).await;
    server.set_faults(
        Faults::new(0).rule(
            FaultRule::new(FaultAction::Status(503))
                .route("/jobs")
                .times(1),
        ),
    );
    while let Some(job) = stream.next().await {
        seen.push(job.expect("the flaky page is retried").job_id);
    }
    assert_eq!(seen, expected);

    // 10 pages plus one retry, of page 3, with the same query.
    let requests = requests_to(&server, "GET", "/jobs");
    assert_eq!(requests.len(), 11);
    assert_eq!(requests[2].faults, [FaultAction::Status(503)]);
    assert_eq!(requests[2].query, requests[3].query);
    assert_eq!(
        retry_counts(&requests[2..4]),
        ["0", "1"],
        "the retry is marked as one"
    );
    assert!(requests
        .iter()
        .enumerate()
        .all(|(i, r)| i == 2 || !r.faulted()));
}

#[tokio::test(start_paused = true)]
async fn unknown_statuses_and_job_types_in_a_page_still_decode() {
    let server = Server::start().await;
    let ids = server.seed_jobs([
        SeedJob::completed(),
        SeedJob::with_status("Archived"),
        SeedJob::with_status("Cancelled").job_type("Extract"),
        SeedJob::with_status("Queued").job_type("Translate"),
    ]);
    let client = client_for(&server);
    let jobs: Vec<_> = client.job().get_all().stream().try_collect().await.unwrap();
    let got: Vec<(&str, &JobStatus, &JobType)> = jobs
        .iter()
        .map(|j| (j.job_id.as_str(), &j.status, &j.type_))
        .collect();
    assert_eq!(
        got,
        [
            (
                ids[3].as_str(),
                &JobStatus::Other("Queued".into()),
                &JobType::Other("Translate".into())
            ),
            (ids[2].as_str(), &JobStatus::Cancelled, &JobType::Extract),
            (
                ids[1].as_str(),
                &JobStatus::Other("Archived".into()),
                &JobType::Parse
            ),
            (ids[0].as_str(), &JobStatus::Completed, &JobType::Parse),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn per_call_retry_policy_applies_to_every_page() {
    let (server, expected) = seeded(300).await;
    // The client retries; this listing must not.
    let client = builder_for(&server.url())
        .retry(RetryPolicy::default().jitter(false))
        .build()
        .unwrap();
    let mut stream = client
        .job()
        .get_all()
        .limit(100)
        .prefetch(0)
        .retry(RetryPolicy::none())
        .stream();
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen.push(stream.next().await.unwrap().unwrap().job_id);
    }
    let flaky = || {
        Faults::new(0).rule(
            FaultRule::new(FaultAction::Status(503))
                .route("/jobs")
                .times(1),
        )
    };
    server.set_faults(flaky());
    let error = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    assert_eq!(list_requests(&server), 2, "page 2 tried once");
    assert!(stream.next().await.is_none());

    // Resumed with the client's policy, the same fault is survived.
    server.set_faults(flaky());
    let rest: Vec<String> = client
        .job()
        .get_all()
        .limit(100)
        .cursor(stream.resume_cursor().unwrap())
        .stream()
        .map_ok(|j| j.job_id)
        .try_collect()
        .await
        .unwrap();
    seen.extend(rest);
    assert_eq!(seen, expected);
    assert_eq!(
        list_requests(&server),
        2 + 3,
        "resumed: page 2 (503, then retried) and page 3"
    );
}

#[test]
fn a_listing_whose_driver_dies_ends_with_an_error_not_silently() {
    // The server lives on its own runtime; the stream's page driver is
    // spawned on a second one, which is shut down mid-listing.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = server_rt.block_on(async {
        let server = Server::builder()
            .page_latency(Duration::from_millis(200))
            .start()
            .await
            .unwrap();
        server.seed_jobs((0..30).map(|_| SeedJob::completed()));
        server
    });
    let client = client_for(&server);
    let mut stream = client.job().get_all().limit(10).prefetch(1).stream();

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let first = client_rt.block_on(async { stream.next().await });
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
    // The driver is now fetching page 2 on `client_rt`; kill it.
    drop(client_rt);

    let rest: Vec<_> = server_rt.block_on(async {
        let mut rest = Vec::new();
        while let Some(item) = stream.next().await {
            rest.push(item);
        }
        rest
    });
    // The nine other jobs of page 1, then an error, not a silent end.
    assert_eq!(rest.len(), 10, "{rest:?}");
    assert!(rest[..9].iter().all(Result::is_ok));
    match &rest[9] {
        Err(Error::Interrupted(why)) => assert!(!why.is_empty()),
        other => panic!("expected Interrupted, got {other:?}"),
    }
    drop(server);
}

#[tokio::test(start_paused = true)]
async fn page_requests_run_inside_the_callers_span() {
    let (captured, _tracing) = capture_tracing();
    let (server, _) = seeded(25).await;
    let client = client_for(&server);
    let span = tracing::info_span!("listing_for_user", user = 42);
    let jobs: Vec<_> = {
        let _entered = span.enter();
        client.job().get_all().limit(10).stream()
    }
    .try_collect()
    .await
    .unwrap();
    assert_eq!(jobs.len(), 25);
    let log = captured.text();
    let page_spans: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.contains("reducto.request")
                && l.contains("get_jobs_jobs_get")
                && l.contains(" close ")
        })
        .collect();
    assert_eq!(page_spans.len(), 3, "{log}");
    for line in page_spans {
        assert!(line.contains("listing_for_user{user=42}"), "{line}");
    }
}

#[tokio::test(start_paused = true)]
async fn extreme_prefetch_values_are_clamped_not_panics() {
    let (server, expected) = seeded(120).await;
    let client = client_for(&server);
    for prefetch in [
        0,
        1,
        reducto::pagination::MAX_PREFETCH,
        usize::MAX / 2,
        usize::MAX,
    ] {
        server.clear_requests();
        let mut stream = client.job().get_all().limit(10).prefetch(prefetch).stream();
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(first.job_id, expected[0]);
        idle(60).await;
        // At most the clamped number of pages ahead of the one delivered.
        let ahead = prefetch.min(reducto::pagination::MAX_PREFETCH);
        assert!(list_requests(&server) <= 1 + ahead, "prefetch {prefetch}");
        let rest: Vec<_> = stream.try_collect().await.unwrap();
        assert_eq!(rest.len(), 119, "prefetch {prefetch}");
    }
}
