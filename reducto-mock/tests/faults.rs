//! Phase 2: faults on demand.

mod common;

use std::time::Duration;

use common::*;
use reducto_mock::{FaultAction, FaultRule, Faults, Limit, SeedJob, Server, ServerStats};
use serde_json::json;

#[tokio::test]
async fn next_n_requests_to_a_route_fail() {
    let s = Server::builder()
        .faults(
            Faults::new(1).rule(
                FaultRule::new(FaultAction::Status(503))
                    .route("/jobs")
                    .times(2),
            ),
        )
        .start()
        .await
        .expect("start");
    let c = client();
    // Other routes are untouched and do not consume the counter.
    let (status, _) = get(&c, &format!("{}/job/x", s.url())).await;
    assert_eq!(status, 404);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, body) = get(&c, &format!("{}/jobs", s.url())).await;
        if status == 503 {
            assert_eq!(body, json!({"detail": "Mock fault: injected HTTP 503"}));
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [503, 503, 200, 200]);
    let faulted: Vec<bool> = s.requests().iter().map(|r| r.faulted()).collect();
    assert_eq!(faulted, [false, true, true, false, false]);
    assert_eq!(s.requests()[1].faults, [FaultAction::Status(503)]);
}

#[tokio::test]
async fn rate_limit_headers() {
    let s = Server::start().await;
    s.set_faults(
        Faults::new(0)
            .rule(
                FaultRule::new(FaultAction::rate_limit_secs(2))
                    .route("/jobs")
                    .times(1),
            )
            .rule(
                FaultRule::new(FaultAction::rate_limit_ms(250))
                    .route("/jobs")
                    .times(1),
            )
            .rule(
                FaultRule::new(FaultAction::RateLimit {
                    retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
                    retry_after_ms: Some("1500".into()),
                })
                .route("/jobs")
                .times(1),
            ),
    );
    let c = client();
    let url = format!("{}/jobs", s.url());
    let mut seen = Vec::new();
    for _ in 0..4 {
        let resp = c.get(&url).bearer_auth(KEY).send().await.expect("send");
        let h = |n: &str| {
            resp.headers()
                .get(n)
                .map(|v| v.to_str().unwrap_or("?").to_owned())
        };
        seen.push((
            resp.status().as_u16(),
            h("retry-after"),
            h("retry-after-ms"),
        ));
    }
    assert_eq!(
        seen,
        [
            (429, Some("2".into()), None),
            (429, None, Some("250".into())),
            (
                429,
                Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
                Some("1500".into())
            ),
            (200, None, None),
        ]
    );
}

/// Statuses of `n` GET /jobs requests against a server with these faults.
async fn pattern(faults: Faults, n: usize) -> Vec<u16> {
    let s = Server::builder()
        .faults(faults)
        .start()
        .await
        .expect("start");
    let c = client();
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(get(&c, &format!("{}/jobs", s.url())).await.0);
    }
    out
}

#[tokio::test]
async fn probabilities_are_reproducible_per_seed() {
    let faults = |seed| {
        Faults::new(seed)
            .rule(FaultRule::new(FaultAction::Status(500)).probability(0.3))
            .rule(FaultRule::new(FaultAction::Status(502)).probability(0.2))
    };
    let a = pattern(faults(42), 60).await;
    let b = pattern(faults(42), 60).await;
    let other = pattern(faults(43), 60).await;
    assert_eq!(a, b);
    assert_ne!(a, other);
    let failures = a.iter().filter(|&&st| st != 200).count();
    assert!((10..40).contains(&failures), "{a:?}");
    assert!(a.contains(&500) && a.contains(&502) && a.contains(&200));
}

#[tokio::test]
async fn dropped_connection_gives_a_transport_error() {
    let s = Server::start().await;
    s.set_faults(
        Faults::new(0).rule(
            FaultRule::new(FaultAction::DropConnection)
                .route("/job/{job_id}")
                .times(1),
        ),
    );
    let c = client();
    let err = c
        .get(format!("{}/job/abc", s.url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect_err("no response");
    assert!(!err.is_status(), "{err:?}");
    // The next request is served normally.
    let (status, _) = get(&c, &format!("{}/job/abc", s.url())).await;
    assert_eq!(status, 404);
    let reqs = s.requests();
    assert_eq!(reqs[0].faults, [FaultAction::DropConnection]);
    assert!(!reqs[1].faulted());
}

#[tokio::test(start_paused = true)]
async fn latency_adds_up_and_then_serves_normally() {
    let s = Server::start().await;
    s.set_faults(
        Faults::new(0)
            .rule(
                FaultRule::new(FaultAction::Latency(Duration::from_secs(3)))
                    .route("/job/*")
                    .method("get"),
            )
            .rule(FaultRule::new(FaultAction::Latency(Duration::from_secs(4))).route("/job/*")),
    );
    let c = client();
    let t = tokio::time::Instant::now();
    let (status, _) = get(&c, &format!("{}/job/x", s.url())).await;
    assert_eq!(status, 404);
    assert!(t.elapsed() >= Duration::from_secs(7));
    assert_eq!(s.requests()[0].faults.len(), 2);
    // Method filter: POST only gets the second rule.
    let t = tokio::time::Instant::now();
    post_json(&c, &format!("{}/cancel/x", s.url()), &json!({})).await;
    assert!(t.elapsed() < Duration::from_secs(1), "not under /job/");
}

#[tokio::test]
async fn cursor_loop_repeats_a_cursor() {
    let s = Server::start().await;
    s.seed_jobs((0..30).map(|_| SeedJob::completed()));
    s.set_faults(Faults::new(0).cursor_loop());
    let c = client();
    let (_, p1) = get(&c, &format!("{}/jobs?limit=10", s.url())).await;
    let c1 = p1["next_cursor"].as_str().expect("cursor").to_owned();
    let (status, p2) = get(&c, &format!("{}/jobs?limit=10&cursor={c1}", s.url())).await;
    assert_eq!(status, 200);
    assert_eq!(p2["next_cursor"], c1.as_str(), "the cursor repeats");
    assert_eq!(
        p2["jobs"], p1["jobs"],
        "the top cursor lists from the newest"
    );
    assert!(s
        .requests()
        .iter()
        .all(|r| r.faults == [FaultAction::CursorLoop]));

    // Turning faults off restores normal pagination.
    s.clear_faults();
    let (_, p1) = get(&c, &format!("{}/jobs?limit=10", s.url())).await;
    let c1 = p1["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, p2) = get(&c, &format!("{}/jobs?limit=10&cursor={c1}", s.url())).await;
    assert_ne!(p2["next_cursor"], c1.as_str());
    assert_ne!(p2["jobs"][0], p1["jobs"][0]);
}

#[tokio::test]
async fn faults_apply_before_auth_and_only_to_known_routes() {
    let s = Server::builder()
        .faults(Faults::new(0).rule(FaultRule::new(FaultAction::Status(502))))
        .start()
        .await
        .expect("start");
    let c = client();
    let (status, _) = json(
        c.get(format!("{}/jobs", s.url()))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 502, "a gateway error comes before auth");
    let (status, _) = get(&c, &format!("{}/unknown", s.url())).await;
    assert_eq!(status, 404);
    // set_faults resets counters; a bogus status code falls back to 500.
    s.set_faults(Faults::new(0).rule(FaultRule::new(FaultAction::Status(42)).times(1)));
    let (status, _) = get(&c, &format!("{}/version", s.url())).await;
    assert_eq!(status, 500);
    let (status, _) = get(&c, &format!("{}/version", s.url())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn custom_responses() {
    let s = Server::start().await;
    s.set_faults(
        Faults::new(0)
            .rule(
                FaultRule::new(FaultAction::Respond {
                    status: 409,
                    headers: vec![
                        ("x-should-retry".into(), "false".into()),
                        ("bad name".into(), "x".into()),
                    ],
                    body: r#"{"detail":"conflict"}"#.into(),
                })
                .route("/jobs")
                .times(1),
            )
            .rule(
                FaultRule::new(FaultAction::Respond {
                    status: 400,
                    headers: vec![],
                    body: "<html>bad gateway page</html>".into(),
                })
                .route("/jobs")
                .times(1),
            ),
    );
    let c = client();
    let url = format!("{}/jobs", s.url());
    let resp = c.get(&url).bearer_auth(KEY).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 409);
    assert_eq!(resp.headers()["x-should-retry"], "false");
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.text().await.expect("body"), r#"{"detail":"conflict"}"#);
    let resp = c.get(&url).bearer_auth(KEY).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/plain"));
    assert_eq!(
        resp.text().await.expect("body"),
        "<html>bad gateway page</html>"
    );
}

#[test]
fn server_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Server>();
    assert_send_sync::<Faults>();
}

/// Status, `retry-after` and `retry-after-ms` of a GET.
async fn get_limited(c: &reqwest::Client, url: &str) -> (u16, Option<String>, Option<String>) {
    let resp = c.get(url).bearer_auth(KEY).send().await.expect("send");
    let h = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap_or("?").to_owned())
    };
    let out = (
        resp.status().as_u16(),
        h("retry-after"),
        h("retry-after-ms"),
    );
    if out.0 == 429 {
        let (_, body) = json(resp).await;
        assert_eq!(
            body["detail"], "Rate limit exceeded: too many requests per second (mock limit)",
            "{body}"
        );
    }
    out
}

#[tokio::test(start_paused = true)]
async fn sliding_rate_limit_refuses_until_the_oldest_request_leaves_the_window() {
    let s = Server::builder()
        .faults(Faults::new(0).limit(Limit::per_second(3).route("/jobs")))
        .start()
        .await
        .expect("start");
    let c = client();
    let url = format!("{}/jobs", s.url());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get_limited(&c, &url).await.0);
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    assert_eq!(statuses, [200, 200, 200]);
    // t = 300 ms: the first admission (t = 0) leaves the window at 1 s.
    assert_eq!(
        get_limited(&c, &url).await,
        (429, Some("1".into()), Some("700".into()))
    );
    // Other routes are not counted.
    assert_eq!(get(&c, &format!("{}/job/x", s.url())).await.0, 404);
    tokio::time::advance(Duration::from_millis(650)).await;
    assert_eq!(
        get_limited(&c, &url).await,
        (429, Some("1".into()), Some("50".into()))
    );
    tokio::time::advance(Duration::from_millis(50)).await;
    // t = 1 s: one slot is free again, then the window is full again.
    assert_eq!(get_limited(&c, &url).await.0, 200);
    assert_eq!(
        get_limited(&c, &url).await,
        (429, Some("1".into()), Some("100".into()))
    );
    let stats = s.stats();
    assert_eq!(stats.limited_rate, 3);
    assert_eq!(stats.limited_in_flight, 0);
    assert_eq!(stats.requests, 8);
    let refused: Vec<bool> = s.requests().iter().map(|r| r.faulted()).collect();
    assert_eq!(
        refused,
        [false, false, false, true, false, true, false, true]
    );
}

#[tokio::test(start_paused = true)]
async fn fixed_rate_window_resets_on_the_second() {
    let s = Server::builder()
        .faults(Faults::new(0).limit(Limit::per_second(2).fixed_window()))
        .start()
        .await
        .expect("start");
    let c = client();
    let url = format!("{}/jobs", s.url());
    tokio::time::advance(Duration::from_millis(900)).await;
    assert_eq!(get_limited(&c, &url).await.0, 200);
    assert_eq!(get_limited(&c, &url).await.0, 200);
    assert_eq!(
        get_limited(&c, &url).await,
        (429, Some("1".into()), Some("100".into()))
    );
    // A new window at 1 s admits two more at once: 4 requests within 100 ms,
    // which a sliding window would refuse.
    tokio::time::advance(Duration::from_millis(100)).await;
    assert_eq!(get_limited(&c, &url).await.0, 200);
    assert_eq!(get_limited(&c, &url).await.0, 200);
    assert_eq!(get_limited(&c, &url).await.0, 429);
    assert_eq!(s.stats().limited_rate, 2);
    // Clearing the faults removes the limit; the counters stay until reset.
    s.clear_faults();
    assert_eq!(get_limited(&c, &url).await.0, 200);
    assert_eq!(s.stats().limited(), 2);
    s.reset_stats();
    assert_eq!(s.stats(), ServerStats::default());
}

/// Real concurrency: N + 5 slow requests at once against an in-flight limit
/// of N; exactly 5 are refused, and the slots come back afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_limit_refuses_exactly_the_excess() {
    const N: usize = 12;
    let s = Server::builder()
        .faults(
            Faults::new(0)
                .limit(
                    Limit::in_flight(N)
                        .route("/jobs")
                        .retry_after(Duration::from_millis(1500)),
                )
                .rule(FaultRule::new(FaultAction::Latency(Duration::from_secs(2))).route("/jobs")),
        )
        .start()
        .await
        .expect("start");
    let c = client();
    let url = format!("{}/jobs", s.url());
    let calls = (0..N + 5).map(|_| {
        let (c, url) = (c.clone(), url.clone());
        tokio::spawn(async move {
            let resp = c.get(&url).bearer_auth(KEY).send().await.expect("send");
            let status = resp.status().as_u16();
            let h = |n: &str| {
                resp.headers()
                    .get(n)
                    .map(|v| v.to_str().unwrap_or("?").to_owned())
            };
            (status, h("retry-after"), h("retry-after-ms"))
        })
    });
    let mut results = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        results.push(call.await.expect("task"));
    }
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(refused.len(), 5, "{results:?}");
    assert!(refused
        .iter()
        .all(|r| r.1.as_deref() == Some("2") && r.2.as_deref() == Some("1500")));
    assert_eq!(results.iter().filter(|r| r.0 == 200).count(), N);
    let stats = s.stats();
    assert_eq!(stats.limited_in_flight, 5);
    assert_eq!(stats.peak_in_flight, N);
    assert_eq!(stats.in_flight, 0);
    // Slots are released: the next request is admitted.
    s.set_faults(Faults::new(0).limit(Limit::in_flight(1)));
    assert_eq!(get(&c, &url).await.0, 200);
}
