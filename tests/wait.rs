//! Waiting on jobs against the local server, on a paused tokio clock: the
//! polling schedule, terminal outcomes, deadlines, cancel on timeout,
//! watch, wait_all, dropping a wait, submit-and-wait and URL results.
//!
//! The server computes job progress from tokio's clock, so virtual time
//! drives the jobs; with jitter off, polls happen at exactly 0, 1, 3, 7,
//! 15, 25, 35, ... seconds (intervals 1, 2, 4, 8, then capped at 10 s).

mod common;

use std::{collections::HashMap, future::IntoFuture, time::Duration};

use common::*;
use futures::StreamExt;
use reducto::{
    types::ParseResult, Document, Error, JobStatus, ParseResultSource, PollPolicy, Reducto,
    RetryPolicy,
};
use reducto_mock::{FaultAction, FaultRule, Faults, SeedJob, Server, FAIL_MARKER};
use tokio::time::Instant;

const MARKDOWN: &str = "# Report\n\n## Numbers\n\nRevenue grew.\n\n- one\n- two\n";

/// The reason the mock gives for a document containing [`FAIL_MARKER`].
const FAIL_REASON: &str = "Mock failure requested by document content";

/// Starts an async parse of a URL (the mock does not fetch it).
async fn start_job(client: &Reducto) -> String {
    client
        .parse()
        .run_job("https://example.com/report.pdf")
        .await
        .unwrap()
        .job_id
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test(start_paused = true)]
async fn wait_polls_on_schedule_and_resolves_to_the_completed_job() {
    let server = server_with_duration(Duration::from_secs(30)).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;

    let start = Instant::now();
    let job = client
        .job()
        .wait(&job_id)
        .poll_policy(exact_polls())
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert!(job.result.is_some());
    assert_eq!(job.progress, Some(1.0));
    // Polls at 0, 1, 3, 7, 15, 25 (pending) and 35 (completed, >= 30 s).
    assert_eq!(start.elapsed(), Duration::from_secs(35));
    let polls = requests_to(&server, "GET", &format!("/job/{job_id}"));
    assert_eq!(polls.len(), 7);
    assert!(polls
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer test-key")));
}

#[tokio::test(start_paused = true)]
async fn watch_yields_each_change_on_the_schedule_and_ends_with_completed() {
    let server = server_with_duration(Duration::from_secs(30)).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;

    let start = Instant::now();
    let mut updates = client.job().watch_with(&job_id, exact_polls());
    let mut seen = Vec::new();
    while let Some(update) = updates.next().await {
        let update = update.unwrap();
        seen.push((secs_since(start), update.status, update.progress));
    }
    let times: Vec<f64> = seen.iter().map(|u| u.0).collect();
    assert_eq!(times, [0.0, 1.0, 3.0, 7.0, 15.0, 25.0, 35.0]);
    let statuses: Vec<&JobStatus> = seen.iter().map(|u| &u.1).collect();
    assert_eq!(statuses[..6], [&JobStatus::Pending; 6]);
    assert_eq!(statuses[6], &JobStatus::Completed);
    // Progress is the server's, at the poll's instant: t / 30 s.
    for (t, _, progress) in &seen[..6] {
        let progress = progress.expect("pending jobs report progress");
        // A fraction of 1.0, as Reducto reports it.
        assert!(close(progress, t / 30.0), "{progress} at {t}");
    }
    assert_eq!(seen[6].2, Some(1.0));
    let progress: Vec<f64> = seen.iter().map(|u| u.2.unwrap()).collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");

    // Nothing after Completed: the stream is over (and stays over: polled
    // again, it still says so instead of panicking) and polling stopped.
    assert!(updates.next().await.is_none());
    assert!(updates.next().await.is_none());
    idle(600).await;
    assert_eq!(polls(&server), 7);
}

#[tokio::test(start_paused = true)]
async fn watch_yields_only_changes() {
    let server = Server::start().await;
    // A seeded pending job never changes.
    let ids = server.seed_jobs([SeedJob::pending().job_id("stuck")]);
    let client = client_for(&server);
    let policy = exact_polls().deadline(Duration::from_secs(30));
    let items: Vec<_> = client.job().watch_with(&ids[0], policy).collect().await;
    assert_eq!(items.len(), 2, "{items:?}");
    let first = items[0].as_ref().unwrap();
    assert_eq!(
        (&first.status, first.progress),
        (&JobStatus::Pending, Some(0.0))
    );
    match &items[1] {
        Err(Error::WaitTimeout {
            job_id,
            last_status,
            last_progress,
            ..
        }) => {
            assert_eq!(job_id, "stuck");
            assert_eq!(last_status, &Some(JobStatus::Pending));
            assert_eq!(last_progress, &Some(0.0));
        }
        other => panic!("expected WaitTimeout, got {other:?}"),
    }
    // 0, 1, 3, 7, 15, 25 and the final poll 1 s before the 30 s deadline.
    assert_eq!(polls(&server), 7);
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_is_an_error_with_the_reason() {
    let server = server_with_duration(Duration::from_secs(10)).await;
    let client = client_for(&server);
    let document = format!("# Doomed\n\nThis one says {FAIL_MARKER} somewhere.\n");
    let upload = client
        .upload(Document::bytes(document, "doomed.txt"))
        .await
        .unwrap();
    let job_id = client.parse().run_job(&upload).await.unwrap().job_id;

    let start = Instant::now();
    let error = client
        .job()
        .wait(&job_id)
        .poll_policy(exact_polls())
        .await
        .unwrap_err();
    match &error {
        Error::JobFailed {
            job_id: id, reason, ..
        } => {
            assert_eq!(id, &job_id);
            assert_eq!(reason.as_deref(), Some(FAIL_REASON));
        }
        other => panic!("expected JobFailed, got {other:?}"),
    }
    // Failed at 10 s, seen by the poll at 15 s.
    assert_eq!(start.elapsed(), Duration::from_secs(15));
    assert_eq!(polls(&server), 5);
}

/// A server answering `Cancelled` on `GET /job` (outside the spec, as some
/// servers do): the client's `JobCancelled` handling.
#[tokio::test(start_paused = true)]
async fn a_job_cancelled_while_waiting_is_an_error() {
    let server = Server::builder()
        .job_duration(Duration::from_secs(60))
        .cancelled_on_get_job(true)
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let job_id = start_job(&client).await;

    let start = Instant::now();
    let wait = client
        .job()
        .wait(&job_id)
        .poll_policy(exact_polls())
        .into_future();
    let cancel = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        client.job().cancel(&job_id).await.unwrap()
    };
    let (outcome, cancelled) = tokio::join!(wait, cancel);
    assert_eq!(cancelled["status"], "Cancelled");
    match outcome {
        Err(Error::JobCancelled { job_id: id, .. }) => assert_eq!(id, job_id),
        other => panic!("expected JobCancelled, got {other:?}"),
    }
    // Cancelled at 5 s, seen by the poll at 7 s.
    assert_eq!(start.elapsed(), Duration::from_secs(7));
    assert_eq!(polls(&server), 4);
}

/// A server within the spec (Reducto's, the local one by default) reports
/// a cancelled job as `Failed` with the cancel as its reason.
#[tokio::test(start_paused = true)]
async fn a_job_cancelled_on_a_spec_faithful_server_is_a_failure_with_the_reason() {
    let server = server_with_duration(Duration::from_secs(60)).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;
    client.job().cancel(&job_id).await.unwrap();
    match client.job().wait(&job_id).poll_policy(exact_polls()).await {
        Err(Error::JobFailed {
            job_id: id, reason, ..
        }) => {
            assert_eq!(id, job_id);
            assert_eq!(reason.as_deref(), Some("Job cancelled by user"));
        }
        other => panic!("expected JobFailed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_poll_is_retried_by_the_request_policy() {
    let server = server_with_duration(Duration::from_secs(30)).await;
    let client = builder_for(&server.url())
        .retry(RetryPolicy::default().jitter(false))
        .build()
        .unwrap();
    let job_id = start_job(&client).await;
    let flaky_poll = || {
        Faults::new(0).rule(
            FaultRule::new(FaultAction::Status(503))
                .route("/job/*")
                .method("GET")
                .times(1),
        )
    };

    // The first poll gets a 503 and is retried 0.5 s later; the schedule
    // then runs from there: 0.5, 1.5, 3.5, 7.5, 15.5, 25.5, 35.5 s.
    server.set_faults(flaky_poll());
    let start = Instant::now();
    let job = client
        .job()
        .wait(&job_id)
        .poll_policy(exact_polls())
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(start.elapsed(), Duration::from_millis(35_500));
    let requests = requests_to(&server, "GET", &format!("/job/{job_id}"));
    assert_eq!(requests.len(), 8);
    assert_eq!(retry_counts(&requests[..2]), ["0", "1"]);

    // With retries off for the polls, the same 503 ends the wait.
    server.clear_requests();
    server.set_faults(flaky_poll());
    let error = client
        .job()
        .wait(&job_id)
        .retry(RetryPolicy::none())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InternalServer(_)), "{error:?}");
    assert_eq!(polls(&server), 1);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_gives_wait_timeout_after_a_final_poll_just_before_it() {
    let server = server_with_duration(Duration::from_secs(3600)).await;
    let client = client_for(&server);
    // The last poll is made FINAL_POLL_LEAD (1 s) before the deadline, so
    // its answer arrives in time: for 25 s the sleep after the poll at 15 s
    // shrinks from 10 s to 9 s; for 20 s, from 10 s to 4 s.
    assert_eq!(reducto::wait::FINAL_POLL_LEAD, Duration::from_secs(1));
    for deadline in [25, 20] {
        server.clear_requests();
        let job_id = start_job(&client).await;
        let start = Instant::now();
        let error = client
            .job()
            .wait(&job_id)
            .poll_policy(exact_polls())
            .timeout(Duration::from_secs(deadline))
            .await
            .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(deadline));
        match &error {
            Error::WaitTimeout {
                job_id: id,
                last_status,
                last_progress,
                ..
            } => {
                assert_eq!(id, &job_id);
                assert_eq!(last_status, &Some(JobStatus::Pending));
                // The progress the server reported proves when the last
                // poll was made: 1 s before the deadline, of 1 h.
                let progress = last_progress.expect("pending jobs report progress");
                let at_last_poll = (deadline - 1) as f64 / 3600.0;
                assert!(
                    close(progress, at_last_poll),
                    "{progress} != {at_last_poll}"
                );
            }
            other => panic!("expected WaitTimeout, got {other:?}"),
        }
        // 0, 1, 3, 7, 15 and 1 s before the deadline.
        assert_eq!(polls(&server), 6, "deadline {deadline}");
        assert!(requests_under(&server, "POST", "/cancel/").is_empty());
        // Not cancelled: still running on the server.
        let job = client.job().get(&job_id).await.unwrap();
        assert_eq!(job.status, JobStatus::Pending);
    }
}

#[tokio::test(start_paused = true)]
async fn cancel_on_timeout_cancels_the_job_on_the_server() {
    let server = server_with_duration(Duration::from_secs(3600)).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;

    let start = Instant::now();
    let error = client
        .job()
        .wait(&job_id)
        .poll_policy(exact_polls())
        .timeout(Duration::from_secs(10))
        .cancel_on_timeout(true)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::WaitTimeout {
                last_status: Some(JobStatus::Pending),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    let cancels = requests_to(&server, "POST", &format!("/cancel/{job_id}"));
    assert_eq!(cancels.len(), 1);
    // The cancel comes after the final poll.
    let last = server.requests().pop().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path),
        ("POST", format!("/cancel/{job_id}"))
    );
    // Cancelled: within the spec, GET /job calls it Failed with the reason.
    let job = client.job().get(&job_id).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.reason.as_deref(), Some("Job cancelled by user"));
}

#[tokio::test(start_paused = true)]
async fn unknown_statuses_are_not_terminal_and_keep_polling() {
    let server = Server::start().await;
    server.seed_jobs([SeedJob::with_status("Archived").job_id("archived-1")]);
    let client = client_for(&server);

    let start = Instant::now();
    let error = client
        .job()
        .wait("archived-1")
        .poll_policy(exact_polls())
        .timeout(Duration::from_secs(30))
        .await
        .unwrap_err();
    match &error {
        Error::WaitTimeout {
            job_id,
            last_status,
            last_progress,
            ..
        } => {
            assert_eq!(job_id, "archived-1");
            assert_eq!(last_status, &Some(JobStatus::Other("Archived".into())));
            assert_eq!(last_progress, &None);
        }
        other => panic!("expected WaitTimeout, got {other:?}"),
    }
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    // 0, 1, 3, 7, 15, 25, 30.
    assert_eq!(polls(&server), 7);
}

#[tokio::test(start_paused = true)]
async fn wait_all_delivers_every_job_once_with_its_outcome() {
    let server = server_with_duration(Duration::from_secs(30)).await;
    let client = client_for(&server);

    let completed = server.seed_jobs((0..400).map(|_| SeedJob::completed()));
    let failed = server.seed_jobs((0..49).map(|i| SeedJob::failed(format!("boom {i}"))));
    let mut live = Vec::new();
    for _ in 0..50 {
        live.push(start_job(&client).await);
    }
    // Every 10th id is a live job (30 s to complete); one id is unknown.
    let mut seeded = completed
        .iter()
        .chain(&failed)
        .cloned()
        .chain(["no-such-job".to_owned()]);
    let mut ids = Vec::new();
    for i in 0..500 {
        match i % 10 {
            0 => ids.push(live[i / 10].clone()),
            _ => ids.push(seeded.next().unwrap()),
        }
    }
    assert_eq!(ids.len(), 500);
    server.clear_requests();

    let start = Instant::now();
    let outcomes: Vec<_> = client
        .job()
        .wait_all(ids.clone())
        .concurrency(16)
        .poll_policy(exact_polls())
        .stream()
        .collect()
        .await;
    let elapsed = start.elapsed();

    assert_eq!(outcomes.len(), 500);
    let by_id: HashMap<&str, &reducto::Result<reducto::Job>> =
        outcomes.iter().map(|(id, o)| (id.as_str(), o)).collect();
    assert_eq!(by_id.len(), 500, "every id delivered exactly once");
    for id in completed.iter().chain(&live) {
        let job = by_id[id.as_str()].as_ref().unwrap();
        assert_eq!(job.status, JobStatus::Completed, "{id}");
    }
    for (i, id) in failed.iter().enumerate() {
        match by_id[id.as_str()] {
            Err(Error::JobFailed { job_id, reason, .. }) => {
                assert_eq!(job_id, id);
                assert_eq!(reason.as_deref(), Some(format!("boom {i}").as_str()));
            }
            other => panic!("{id}: expected JobFailed, got {other:?}"),
        }
    }
    assert!(by_id["no-such-job"].as_ref().unwrap_err().is_not_found());

    // Seeded and unknown ids: one poll each. Live jobs (created at 0 s,
    // done at 30 s): the first 16 hold every slot and poll at 0, 1, 3, 7,
    // 15, 25, 35; the other 34 start at 35 s and finish on their first
    // poll. Bound for any order: seeded + 7 * live = 450 + 350.
    let total = polls(&server);
    assert_eq!(total, 450 + 16 * 7 + 34, "GET /job requests");
    assert!(total <= 450 + 7 * 50);
    assert_eq!(elapsed, Duration::from_secs(35));
    // Concurrency is bounded: never more than 16 jobs in flight, so the
    // 34 later live jobs could only start when the first 16 finished.
    let live_polls: usize = live
        .iter()
        .map(|id| requests_to(&server, "GET", &format!("/job/{id}")).len())
        .sum();
    assert_eq!(live_polls, 16 * 7 + 34);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_wait_or_a_watch_stops_polling() {
    let server = server_with_duration(Duration::from_secs(3600)).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;

    let mut wait = client
        .job()
        .wait(&job_id)
        .poll_policy(exact_polls())
        .into_future();
    let gave_up = tokio::time::timeout(Duration::from_secs(8), &mut wait).await;
    assert!(gave_up.is_err(), "still waiting");
    assert_eq!(polls(&server), 4, "polls at 0, 1, 3 and 7 s");
    drop(wait);
    idle(600).await;
    assert_eq!(polls(&server), 4, "no poll after the drop");

    server.clear_requests();
    let mut updates = client.job().watch_with(&job_id, exact_polls());
    for _ in 0..3 {
        let update = updates.next().await.unwrap().unwrap();
        assert_eq!(update.status, JobStatus::Pending);
    }
    assert_eq!(polls(&server), 3);
    drop(updates);
    idle(600).await;
    assert_eq!(polls(&server), 3, "no poll after the drop");
}

#[tokio::test(start_paused = true)]
async fn run_job_wait_submits_and_waits() {
    let server = server_with_duration(Duration::from_secs(5)).await;
    let client = client_for(&server);
    let upload = client
        .upload(Document::bytes(MARKDOWN, "report.md"))
        .await
        .unwrap();

    let start = Instant::now();
    let job = client
        .parse()
        .run_job(&upload)
        .wait_with(exact_polls())
        .await
        .unwrap();
    // The completed parse itself, not the job around it.
    assert!(job.chunks().is_some_and(|c| !c.is_empty()));
    assert_eq!(start.elapsed(), Duration::from_secs(7), "polls 0, 1, 3, 7");
    assert_eq!(requests_to(&server, "POST", "/parse_async").len(), 1);
    assert_eq!(polls(&server), 4);
    let inline = client.parse().run(&upload).await.unwrap();
    let full = client.parse().full_result(&job).await.unwrap();
    assert_eq!(Some(full.chunks.as_slice()), inline.chunks());

    // The default (jittered) schedule: intervals 0.75..=1.0 of 1, 2, 4 s,
    // so the job (done at 5 s) is seen by the 4th poll, at 5.25..=7 s.
    let start = Instant::now();
    let job = client.parse().run_job(&upload).wait().await.unwrap();
    assert!(job.chunks().is_some_and(|c| !c.is_empty()));
    let elapsed = start.elapsed();
    assert!(
        (Duration::from_millis(5_250)..=Duration::from_secs(7)).contains(&elapsed),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn full_result_fetches_a_url_result_without_the_key() {
    // Every result is over 10 bytes: all come back as URLs.
    let server = Server::builder()
        .job_duration(Duration::from_secs(2))
        .url_result_threshold(10)
        .start()
        .await
        .unwrap();
    let inline_server = server_with_duration(Duration::from_secs(2)).await;
    let client = client_for(&server);
    let inline_client = client_for(&inline_server);

    let upload = client
        .upload(Document::bytes(MARKDOWN, "report.md"))
        .await
        .unwrap();
    let job = client
        .parse()
        .run_job(&upload)
        .wait_with(exact_polls())
        .await
        .unwrap();
    let url = match job.parse_result() {
        Some(ParseResult::UrlResult(url)) => url.clone(),
        other => panic!("expected a URL result, got {other:?}"),
    };
    let full = client.parse().full_result(&job).await.unwrap();

    let fetches = requests_under(&server, "GET", "/results/");
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].path, format!("/results/{}", url.result_id));
    assert!(!fetches[0].has_header("authorization"), "the key leaked");
    assert_eq!(fetches[0].header("x-reducto-retry-count"), Some("0"));
    // Every other request carried the key.
    assert!(server
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/results/"))
        .all(|r| r.header("authorization") == Some("Bearer test-key")));

    // The same document parsed with an inline result: the same chunks.
    let upload = inline_client
        .upload(Document::bytes(MARKDOWN, "report.md"))
        .await
        .unwrap();
    let inline_job = inline_client
        .parse()
        .run_job(&upload)
        .wait_with(exact_polls())
        .await
        .unwrap();
    assert!(matches!(
        inline_job.parse_result(),
        Some(ParseResult::FullResult(_))
    ));
    let inline = inline_client
        .parse()
        .full_result(&inline_job)
        .await
        .unwrap();
    assert!(!inline.chunks.is_empty());
    assert_eq!(full.chunks, inline.chunks);
    assert!(requests_under(&inline_server, "GET", "/results/").is_empty());
}

/// A server whose `GET /job/{id}` (and, with `cancel`, `POST /cancel/{id}`)
/// answers only after an hour: it has stopped answering.
async fn unresponsive(cancel_too: bool) -> Server {
    let mut faults = Faults::new(1).rule(
        FaultRule::new(FaultAction::Latency(Duration::from_secs(3600))).route("/job/{job_id}"),
    );
    if cancel_too {
        faults = faults.rule(
            FaultRule::new(FaultAction::Latency(Duration::from_secs(3600)))
                .route("/cancel/{job_id}"),
        );
    }
    Server::builder()
        .job_duration(Duration::from_secs(3600))
        .faults(faults)
        .start()
        .await
        .expect("server starts")
}

#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_the_poll_in_flight_for_wait_watch_and_wait_all() {
    let server = unresponsive(false).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;
    let deadline = Duration::from_secs(3);

    let start = Instant::now();
    let error = client
        .job()
        .wait(&job_id)
        .timeout(deadline)
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), deadline, "{error:?}");
    assert!(
        matches!(
            &error,
            Error::WaitTimeout {
                last_status: None,
                ..
            }
        ),
        "{error:?}"
    );

    let start = Instant::now();
    let items: Vec<_> = client
        .job()
        .watch_with(&job_id, exact_polls().deadline(deadline))
        .collect()
        .await;
    assert_eq!(start.elapsed(), deadline);
    assert!(
        matches!(items.as_slice(), [Err(Error::WaitTimeout { .. })]),
        "{items:?}"
    );

    let start = Instant::now();
    let outcomes: Vec<_> = client
        .job()
        .wait_all([job_id.clone(), job_id.clone()])
        .timeout(deadline)
        .stream()
        .collect()
        .await;
    assert_eq!(start.elapsed(), deadline);
    assert_eq!(outcomes.len(), 2);
    for (_, outcome) in &outcomes {
        assert!(
            matches!(outcome, Err(Error::WaitTimeout { .. })),
            "{outcome:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_cancel_sent_at_the_deadline_has_its_own_short_bound() {
    let server = unresponsive(true).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;

    let start = Instant::now();
    let error = client
        .job()
        .wait(&job_id)
        .timeout(Duration::from_secs(3))
        .cancel_on_timeout(true)
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::WaitTimeout { .. }), "{error:?}");
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3) + reducto::wait::CANCEL_TIMEOUT
    );
    assert_eq!(requests_under(&server, "POST", "/cancel/").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn poll_policies_that_cannot_be_right_are_refused_before_any_request() {
    let server = server_with_duration(Duration::from_secs(1)).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;
    server.clear_requests();
    let bad = [
        (
            "zero initial delay",
            PollPolicy::default().initial_delay(Duration::ZERO),
        ),
        (
            "sub-millisecond delay",
            PollPolicy::default().initial_delay(Duration::from_nanos(1)),
        ),
        ("NaN multiplier", PollPolicy::default().multiplier(f64::NAN)),
        (
            "infinite multiplier",
            PollPolicy::default().multiplier(f64::INFINITY),
        ),
        (
            "negative multiplier",
            PollPolicy::default().multiplier(-2.0),
        ),
        (
            "shrinking multiplier",
            PollPolicy::default().multiplier(0.5),
        ),
        (
            "max below initial",
            PollPolicy::default()
                .initial_delay(Duration::from_secs(5))
                .max_delay(Duration::from_secs(1)),
        ),
    ];
    for (what, policy) in bad {
        let error = client
            .job()
            .wait(&job_id)
            .poll_policy(policy.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidArgument {
                    name: "poll_policy",
                    ..
                }
            ),
            "{what}: {error:?}"
        );
        let items: Vec<_> = client.job().watch_with(&job_id, policy).collect().await;
        assert!(
            matches!(items.as_slice(), [Err(Error::InvalidArgument { .. })]),
            "{what}: {items:?}"
        );
    }
    assert_eq!(polls(&server), 0);
    // Submit-and-wait refuses the policy before submitting anything.
    let error = client
        .parse()
        .run_job("https://example.com/report.pdf")
        .wait_with(PollPolicy::default().multiplier(f64::NAN))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert!(requests_to(&server, "POST", "/parse_async").is_empty());
}

#[tokio::test(start_paused = true)]
async fn extreme_but_meaningful_values_neither_panic_nor_hang() {
    let server = server_with_duration(Duration::from_secs(20)).await;
    let client = client_for(&server);
    let job_id = start_job(&client).await;
    // Durations at the edge of what the type holds: a deadline of
    // Duration::MAX is no deadline, huge delays are capped by max_delay.
    let policies = [
        PollPolicy::default().deadline(Duration::MAX).jitter(false),
        PollPolicy::default()
            .max_delay(Duration::MAX)
            .multiplier(f64::MAX)
            .deadline(Duration::MAX),
        PollPolicy::default()
            .initial_delay(Duration::from_millis(1))
            .max_delay(Duration::from_secs(2)),
        PollPolicy::default().deadline(Duration::ZERO),
    ];
    for policy in policies {
        let outcome = tokio::time::timeout(
            Duration::from_secs(86_400),
            client.job().wait(&job_id).poll_policy(policy.clone()),
        )
        .await;
        match outcome {
            Ok(Ok(job)) => assert_eq!(job.status, JobStatus::Completed),
            Ok(Err(Error::WaitTimeout { .. })) => {}
            other => panic!("{policy:?}: {other:?}"),
        }
    }
    let outcomes: Vec<_> = client
        .job()
        .wait_all([job_id.clone()])
        .concurrency(usize::MAX)
        .timeout(Duration::MAX)
        .stream()
        .collect()
        .await;
    assert!(outcomes[0].1.is_ok(), "{outcomes:?}");
    let no_timeout = client.job().wait(&job_id).timeout(Duration::MAX).await;
    assert!(no_timeout.is_ok());
}

#[tokio::test(start_paused = true)]
async fn the_boundary_values_of_a_poll_policy_are_accepted_and_followed() {
    let server = server_with_duration(Duration::from_secs(5)).await;
    let client = client_for(&server);
    for (what, policy, done_at, expected_polls) in [
        // A multiplier of exactly 1.0: a fixed rate, polls at 0, 2, 4, 6 s.
        (
            "fixed rate",
            exact_polls()
                .initial_delay(Duration::from_secs(2))
                .multiplier(1.0),
            6,
            4,
        ),
        // max_delay equal to initial_delay: capped from the start, polls
        // at 0, 3, 6 s.
        (
            "capped at once",
            exact_polls()
                .initial_delay(Duration::from_secs(3))
                .max_delay(Duration::from_secs(3)),
            6,
            3,
        ),
    ] {
        server.clear_requests();
        let job_id = start_job(&client).await;
        let start = Instant::now();
        let job = client
            .job()
            .wait(&job_id)
            .poll_policy(policy)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(job.status, JobStatus::Completed, "{what}");
        assert_eq!(start.elapsed(), Duration::from_secs(done_at), "{what}");
        assert_eq!(polls(&server), expected_polls, "{what}");
    }
}

#[tokio::test(start_paused = true)]
async fn without_a_deadline_a_wait_lasts_as_long_as_the_job() {
    // Longer than the default 10 minute deadline.
    let server = server_with_duration(Duration::from_secs(700)).await;
    let client = client_for(&server);
    // Polls at 0, 1, 3, 7, then every 10 s from 15: the first at or after
    // 700 s is at 705 s, the 74th.
    let done_at = Duration::from_secs(705);

    let job_id = start_job(&client).await;
    let start = Instant::now();
    let job = client
        .job()
        .wait(&job_id)
        .poll_policy(
            exact_polls()
                .deadline(Duration::from_secs(60))
                .no_deadline(),
        )
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(start.elapsed(), done_at);
    assert_eq!(polls(&server), 74);

    // The same through the wait's own setter, after a timeout was set.
    let job_id = start_job(&client).await;
    let start = Instant::now();
    let job = client
        .job()
        .wait(&job_id)
        .poll_policy(exact_polls())
        .timeout(Duration::from_secs(60))
        .no_timeout()
        .await
        .unwrap();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(start.elapsed(), done_at);
}
