//! Soak under faults: about 10% of responses fail (429 with retry-after,
//! 5xx, dropped connections), seeded so the faults are reproducible. Listing
//! 5,000 jobs must yield each exactly once; waiting on 500 jobs must return
//! each one's correct terminal state; and retries must not turn into a storm:
//! the total request count stays within a stated factor of the fault-free run.
//!
//! Runs on tokio's paused clock, so backoff, retry-after and job progress
//! cost no real time. `cargo test --test soak -- --nocapture` prints figures.

use std::{collections::HashMap, time::Duration};

use futures::{StreamExt, TryStreamExt};
use reducto::{Document, Error, JobStatus, Reducto, RetryPolicy};
use reducto_mock::{FaultAction, FaultRule, Faults, SeedJob, Server, FAIL_MARKER};

const LISTED: usize = 5_000;
const WAITED: usize = 500;
const FAILING: usize = 100;
const CANCELLED: usize = 50;
/// The most requests the faulty run may send, relative to the fault-free
/// one: ~10% failures retried once each on average give ~1.11x.
const MAX_REQUEST_FACTOR: f64 = 1.3;

fn faults() -> Faults {
    // Rules are tried in order; together about 10% of requests fail.
    Faults::new(20261128)
        .rule(FaultRule::new(FaultAction::rate_limit_ms(200)).probability(0.04))
        .rule(FaultRule::new(FaultAction::Status(503)).probability(0.02))
        .rule(FaultRule::new(FaultAction::Status(500)).probability(0.01))
        .rule(FaultRule::new(FaultAction::Status(502)).probability(0.01))
        .rule(FaultRule::new(FaultAction::DropConnection).probability(0.02))
}

#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
enum Expected {
    Completed,
    Failed,
    Cancelled,
}

struct Run {
    requests: usize,
    faulted: usize,
    listed: usize,
    outcomes: HashMap<Expected, usize>,
}

async fn run(with_faults: bool) -> Run {
    let server = Server::builder()
        .job_duration(Duration::from_secs(40))
        .start()
        .await
        .unwrap();
    let client = Reducto::builder()
        .read_env(false)
        .api_key("soak")
        .base_url(server.url())
        // Six retries: a request failing 7 times in a row at 10% is a
        // one-in-ten-million event, so no call should give up.
        .retry(RetryPolicy::default().max_retries(6))
        .build()
        .unwrap();
    if with_faults {
        server.set_faults(faults());
    }

    // 500 jobs to wait on: most complete, some fail, some are cancelled.
    let good = client
        .upload(Document::bytes("# Fine\n\nA document.", "ok.md"))
        .await
        .unwrap();
    let bad = client
        .upload(Document::bytes(format!("broken {FAIL_MARKER}"), "bad.txt"))
        .await
        .unwrap();
    let mut expected = HashMap::new();
    for i in 0..WAITED {
        let input = if i < FAILING { &bad } else { &good };
        let job_id = client.parse().run_job(input).await.unwrap().job_id;
        let kind = match i {
            i if i < FAILING => Expected::Failed,
            i if i < FAILING + CANCELLED => Expected::Cancelled,
            _ => Expected::Completed,
        };
        if kind == Expected::Cancelled {
            client.job().cancel(&job_id).await.unwrap();
        }
        expected.insert(job_id, kind);
    }
    server.seed_jobs((0..LISTED - WAITED).map(|_| SeedJob::completed()));

    let ids: Vec<String> = expected.keys().cloned().collect();
    let mut outcomes = HashMap::new();
    let mut finished = client.job().wait_all(ids).concurrency(50).stream();
    while let Some((job_id, outcome)) = finished.next().await {
        let got = match outcome {
            Ok(job) if job.status == JobStatus::Completed => Expected::Completed,
            // Within the spec, GET /job reports a cancelled job as Failed
            // with the cancel as its reason.
            Err(Error::JobFailed {
                reason: Some(reason),
                ..
            }) if reason == "Job cancelled by user" => Expected::Cancelled,
            Err(Error::JobFailed { .. }) => Expected::Failed,
            Err(Error::JobCancelled { .. }) => Expected::Cancelled,
            other => panic!("job {job_id}: unexpected outcome {other:?}"),
        };
        assert_eq!(got, expected[&job_id], "job {job_id}");
        *outcomes.entry(got).or_insert(0) += 1;
    }

    let listed: Vec<String> = client
        .job()
        .get_all()
        .limit(100)
        .stream()
        .map_ok(|j| j.job_id)
        .try_collect()
        .await
        .unwrap();
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), listed.len(), "a job was listed twice");
    assert_eq!(listed.len(), LISTED, "every job listed");
    for id in expected.keys() {
        assert!(listed.contains(id), "{id} missing from the listing");
    }

    let recorded = server.requests();
    Run {
        requests: recorded.len(),
        faulted: recorded.iter().filter(|r| r.faulted()).count(),
        listed: listed.len(),
        outcomes,
    }
}

#[tokio::test(start_paused = true)]
async fn listing_and_waiting_survive_ten_percent_faults() {
    let clean = run(false).await;
    let faulty = run(true).await;
    let factor = faulty.requests as f64 / clean.requests as f64;
    println!("| run | requests | faulted | listed | completed / failed / cancelled |");
    println!("|---|---|---|---|---|");
    for (name, r) in [("fault-free", &clean), ("~10% faults", &faulty)] {
        println!(
            "| {name} | {} | {} ({:.1}%) | {} | {} / {} / {} |",
            r.requests,
            r.faulted,
            100.0 * r.faulted as f64 / r.requests as f64,
            r.listed,
            r.outcomes.get(&Expected::Completed).unwrap_or(&0),
            r.outcomes.get(&Expected::Failed).unwrap_or(&0),
            r.outcomes.get(&Expected::Cancelled).unwrap_or(&0),
        );
    }
    println!("requests with faults / without: {factor:.3}x (allowed {MAX_REQUEST_FACTOR}x)");
    assert_eq!(clean.faulted, 0);
    let share = faulty.faulted as f64 / faulty.requests as f64;
    assert!((0.05..0.15).contains(&share), "fault share {share:.3}");
    assert!(factor <= MAX_REQUEST_FACTOR, "request storm: {factor:.3}x");
}
