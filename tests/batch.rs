//! The batch pipeline against the local server, on tokio's paused clock:
//! many documents with some failing, 429s shrinking and regrowing the
//! limit, resuming from a state file without uploading or submitting
//! twice, what dropping the run does, bad inputs, job events.

mod common;

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    time::Duration,
};

use common::*;
use futures::StreamExt;
use reducto::{
    batch::{Batch, BatchDocument, OnDrop, Outcome, Stage},
    types::FullResult,
    Document, Error, PollPolicy,
};
use reducto_mock::{FaultAction, FaultRule, Faults, Server, FAIL_MARKER};
use tokio::time::Instant;

/// A small markdown document named `name`; failing ones carry the mock's
/// failure marker.
fn doc(name: &str, fail: bool) -> BatchDocument {
    let body = if fail {
        format!("# {name}\n\n{FAIL_MARKER}\n")
    } else {
        format!("# {name}\n\nSome text about {name}.\n")
    };
    BatchDocument::new(
        name,
        Document::bytes(body.into_bytes(), format!("{name}.md")),
    )
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("doc-{i:03}")).collect()
}

/// A fresh directory for this test's files.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reducto-batch-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Quick polls without jitter: 1 s, then 2 s, capped at 2 s.
fn quick_polls() -> PollPolicy {
    PollPolicy::default()
        .initial_delay(Duration::from_secs(1))
        .multiplier(2.0)
        .max_delay(Duration::from_secs(2))
        .deadline(Duration::from_secs(3600))
        .jitter(false)
}

/// Upload requests per uploaded file name.
fn uploads_by_file(server: &Server) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for request in requests_to(server, "POST", "/upload") {
        if let Some(name) = request
            .multipart_parts
            .first()
            .and_then(|p| p.filename.clone())
        {
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}

async fn collect<T>(mut run: reducto::batch::BatchRun<T>) -> Vec<Outcome<T>> {
    let mut outcomes = Vec::new();
    while let Some(outcome) = run.next().await {
        outcomes.push(outcome);
    }
    outcomes
}

#[tokio::test(start_paused = true)]
async fn many_documents_some_failing_each_outcome_says_which_and_where() {
    let server = server_with_duration(Duration::from_secs(5)).await;
    let client = client_for(&server);
    let mut documents: Vec<BatchDocument> = names(60)
        .iter()
        .enumerate()
        .map(|(i, name)| doc(name, i % 7 == 3))
        .collect();
    documents.push(BatchDocument::path("/no/such/file.pdf"));
    documents.push(BatchDocument::url("https://example.com/remote.pdf"));

    let run = Batch::new(&client)
        .documents(documents)
        .uploads(4)
        .poll_policy(quick_polls())
        .start()
        .await
        .unwrap();
    let progress = run.progress();
    let outcomes = collect(run).await;

    assert_eq!(outcomes.len(), 62, "one outcome per document");
    let keys: HashSet<&str> = outcomes.iter().map(|o| o.document.as_str()).collect();
    assert_eq!(keys.len(), 62);
    let mut ok = 0;
    for outcome in &outcomes {
        let failing = outcome.document.starts_with("doc-")
            && outcome.document[4..].parse::<usize>().unwrap() % 7 == 3;
        match (&outcome.result, outcome.document.as_str()) {
            (Err(f), "/no/such/file.pdf") => {
                assert_eq!(f.stage, Stage::Upload);
                assert!(matches!(f.error, Error::File { .. }), "{f}");
                assert!(outcome.upload_id.is_none() && outcome.job_id.is_none());
            }
            (Err(f), _) if failing => {
                assert_eq!(f.stage, Stage::Wait, "{f}");
                assert!(matches!(f.error, Error::JobFailed { .. }), "{f}");
                assert!(outcome.job_id.is_some());
            }
            (Ok(parsed), key) => {
                assert!(!failing, "{key} should have failed");
                let text: String = parsed.chunks.iter().map(|c| c.content.clone()).collect();
                if key.starts_with("doc-") {
                    assert!(text.contains(key), "{key}'s own result: {text}");
                    assert!(outcome
                        .upload_id
                        .as_deref()
                        .unwrap()
                        .starts_with("reducto://"));
                }
                ok += 1;
            }
            (Err(f), key) => panic!("{key}: unexpected failure {f}"),
        }
    }
    assert_eq!(ok, 60 - 9 + 1);

    // A URL is not uploaded; every other document exactly once.
    let uploads = uploads_by_file(&server);
    assert_eq!(uploads.len(), 60);
    assert!(uploads.values().all(|&n| n == 1));
    // Stages overlap: jobs were submitted before the last upload.
    let requests = server.requests();
    let first_submit = requests
        .iter()
        .position(|r| r.path == "/parse_async")
        .unwrap();
    let last_upload = requests.iter().rposition(|r| r.path == "/upload").unwrap();
    assert!(first_submit < last_upload, "uploads went on while jobs ran");

    // Progress agrees with the outcomes.
    let p = progress.borrow().clone();
    assert!(p.finished);
    assert_eq!(
        (p.done, p.failed, p.skipped),
        (ok as u64, 62 - ok as u64, 0)
    );
    assert_eq!(p.in_progress(), 0);
    assert!(p.throughput() > 0.0);
}

#[tokio::test(start_paused = true)]
async fn rate_limits_shrink_the_limit_which_grows_back_when_they_stop() {
    let server = Server::builder()
        .job_duration(Duration::from_secs(2))
        .faults(
            Faults::new(7).rule(
                FaultRule::new(FaultAction::rate_limit_secs(1))
                    .route("/upload")
                    .times(40),
            ),
        )
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let run = Batch::new(&client)
        .documents(names(100).into_iter().map(|n| doc(&n, false)))
        .max_requests(16)
        .initial_requests(16)
        .uploads(16)
        .poll_policy(quick_polls())
        .start()
        .await
        .unwrap();
    let progress = run.progress();
    let mut run = run;
    let first = run.next().await.unwrap();
    let limiter_at_first_outcome = run.limiter();
    let mut outcomes = vec![first];
    outcomes.extend(collect(run).await);

    assert_eq!(outcomes.len(), 100);
    assert!(
        outcomes.iter().all(|o| o.result.is_ok()),
        "429s are retried, not failures"
    );
    let rate_limited = server.requests().iter().filter(|r| r.faulted()).count();
    assert_eq!(rate_limited, 40);
    let p = progress.borrow().clone();
    assert_eq!(p.rate_limited, 40, "the batch saw every 429");
    // It shrank, halving once per round of requests (16 + 8 + 4 + 2 + 1 +
    // ... 429s), never below 1 ...
    assert_eq!(
        limiter_at_first_outcome.lowest, 1,
        "{limiter_at_first_outcome:?}"
    );
    // ... and grew back once the 429s stopped: to just below the level
    // first refused (the maximum, 16), where it holds for PROBE_AFTER.
    assert_eq!(p.request_limit, 15, "{p:?}");
    // Each document was uploaded exactly once despite the 429s.
    assert!(uploads_by_file(&server).values().all(|&n| n == 1));
}

#[tokio::test(start_paused = true)]
async fn a_429_that_never_ends_fails_the_document_not_the_batch() {
    let server = Server::builder()
        .job_duration(Duration::ZERO)
        .faults(
            Faults::new(1)
                .rule(FaultRule::new(FaultAction::rate_limit_ms(100)).route("/parse_async")),
        )
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let outcomes = collect(
        Batch::new(&client)
            .documents([doc("a", false), doc("b", false)])
            .max_rate_limit_retries(3)
            .start()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(outcomes.len(), 2);
    for outcome in outcomes {
        let failure = outcome.result.unwrap_err();
        assert_eq!(failure.stage, Stage::Submit);
        assert!(failure.error.is_rate_limit());
    }
    // 1 attempt + 3 retries each.
    assert_eq!(requests_to(&server, "POST", "/parse_async").len(), 8);
}

/// The state file's records, by key: (uploaded, submitted, done).
fn state_of(path: &std::path::Path) -> HashMap<String, (bool, bool, bool)> {
    let mut state: HashMap<String, (bool, bool, bool)> = HashMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let entry = state
            .entry(record["key"].as_str().unwrap().to_owned())
            .or_default();
        match record["stage"].as_str().unwrap() {
            "uploaded" => entry.0 = true,
            "submitted" => entry.1 = true,
            "done" | "failed" => entry.2 = true,
            other => panic!("stage {other}"),
        }
    }
    state
}

#[tokio::test(start_paused = true)]
async fn a_rerun_resumes_from_the_state_file_without_uploading_or_submitting_twice() {
    let server = server_with_duration(Duration::from_secs(20)).await;
    let client = client_for(&server);
    let dir = temp_dir("resume");
    let state_path = dir.join("state.jsonl");
    let all = names(40);
    let batch = |client: &reducto::Reducto| {
        Batch::new(client)
            .documents(all.clone().into_iter().map(|n| doc(&n, false)))
            .uploads(4)
            .submits(2)
            .running_jobs(8)
            .poll_policy(quick_polls())
            .state_file(&state_path)
    };

    // First run: a "crash" (the run dropped) once the first wave of jobs is
    // done and the next is running.
    let run = batch(&client).start().await.unwrap();
    let mut progress = run.progress();
    loop {
        let p = progress.borrow_and_update().clone();
        if p.done >= 8 && p.running >= 2 {
            break;
        }
        progress.changed().await.unwrap();
    }
    drop(run);
    tokio::time::sleep(Duration::from_millis(10)).await;
    // A kill in the middle of writing a line.
    {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&state_path)
            .unwrap();
        file.write_all(br#"{"key":"doc-039","stage":"subm"#)
            .unwrap();
    }
    let before = state_of(&state_path);
    let done_before: HashSet<&String> =
        before.iter().filter(|(_, s)| s.2).map(|(k, _)| k).collect();
    let uploaded_before = before.values().filter(|s| s.0).count();
    let submitted_before = before.values().filter(|s| s.1).count();
    let unfinished_before = before.values().filter(|s| !s.2).count();
    assert!(done_before.len() >= 8);
    assert!(
        submitted_before > done_before.len(),
        "jobs were running at the crash"
    );
    assert!(
        uploaded_before > submitted_before,
        "uploads were waiting at the crash"
    );

    // Second run, same state file.
    server.clear_requests();
    let second = batch(&client).start().await.unwrap();
    let progress = second.progress();
    let second_run = collect(second).await;

    assert!(second_run.iter().all(|o| o.result.is_ok()));
    let redone: Vec<&str> = second_run
        .iter()
        .map(|o| o.document.as_str())
        .filter(|k| done_before.contains(&k.to_string()))
        .collect();
    assert!(
        redone.is_empty(),
        "finished documents processed again: {redone:?}"
    );
    assert_eq!(
        second_run.len() + done_before.len(),
        40,
        "every document done once"
    );
    // Nothing recorded as uploaded was uploaded again; nothing recorded as
    // submitted was submitted again.
    let uploads_second = uploads_by_file(&server);
    for (key, _) in before.iter().filter(|(_, s)| s.0) {
        assert!(
            !uploads_second.contains_key(&format!("{key}.md")),
            "{key} uploaded twice"
        );
    }
    assert_eq!(uploads_second.len(), 40 - uploaded_before);
    assert_eq!(
        requests_to(&server, "POST", "/parse_async").len(),
        40 - submitted_before
    );
    let resumed = second_run.iter().filter(|o| o.resumed).count();
    assert_eq!(resumed, unfinished_before);
    let p = progress.borrow().clone();
    assert_eq!(p.skipped as usize, done_before.len());
    assert_eq!(p.done as usize, second_run.len());
    assert_eq!(p.resumed as usize, resumed);

    // The state file now says every document is done, exactly once.
    let text = std::fs::read_to_string(&state_path).unwrap();
    let mut done = HashMap::<String, usize>::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("no damaged line left");
        if record["stage"] == "done" {
            *done
                .entry(record["key"].as_str().unwrap().into())
                .or_default() += 1;
        }
    }
    assert_eq!(done.len(), 40);
    assert!(done.values().all(|&n| n == 1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs 30 documents with minute-long jobs and drops the run once some
/// jobs are running; returns the server and how many jobs were submitted.
async fn drop_while_running(on_drop: OnDrop) -> (Server, usize, usize) {
    let server = server_with_duration(Duration::from_secs(60)).await;
    let client = client_for(&server);
    let run = Batch::new(&client)
        .documents(names(30).into_iter().map(|n| doc(&n, false)))
        .uploads(2)
        .on_drop(on_drop)
        .start()
        .await
        .unwrap();
    let mut progress = run.progress();
    while progress.borrow().running < 4 {
        progress.changed().await.unwrap();
    }
    drop(run);
    // Let the batch's task see the drop and wind down.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let submitted = server.job_count();
    let requests = server.requests().len();
    // Two minutes later (every job would have ended) nothing more was sent.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(server.requests().len(), requests, "no work after the drop");
    assert!(submitted < 30);
    (server, submitted, requests)
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_stops_new_work_and_leaves_submitted_jobs_by_default() {
    let (server, submitted, _) = drop_while_running(OnDrop::Leave).await;
    assert!(submitted >= 4);
    assert!(requests_under(&server, "POST", "/cancel/").is_empty());
}

#[tokio::test(start_paused = true)]
async fn dropping_the_run_can_cancel_its_submitted_jobs() {
    let (server, submitted, _) = drop_while_running(OnDrop::Cancel).await;
    let cancels = requests_under(&server, "POST", "/cancel/");
    assert_eq!(
        cancels.len(),
        submitted,
        "each submitted job cancelled once"
    );
    let ids: HashSet<&str> = cancels.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(ids.len(), submitted);
}

#[tokio::test(start_paused = true)]
async fn bad_inputs_are_per_document_failures_and_bad_settings_typed_errors() {
    let server = server_with_duration(Duration::ZERO).await;
    let client = client_for(&server);
    let dir = temp_dir("bad-inputs");
    std::fs::write(dir.join("good.md"), "# Good\n\nText.\n").unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/also.md"), "# Also\n").unwrap();
    std::fs::write(dir.join("skip.bin"), "x").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.join("gone.md"), dir.join("broken.md")).unwrap();
    let not_a_dir = dir.join("good.md");

    // A directory walk with a filter, and a "directory" that is a file.
    let walked = collect(
        Batch::new(&client)
            .documents_in_where(&dir, |p| p.extension().is_some_and(|e| e == "md"))
            .start()
            .await
            .unwrap(),
    )
    .await;
    let by_key: HashMap<String, &Outcome<FullResult>> =
        walked.iter().map(|o| (o.document.clone(), o)).collect();
    let key = |f: &str| dir.join(f).to_string_lossy().into_owned();
    assert!(by_key[&key("good.md")].result.is_ok());
    assert!(by_key[&key("sub/also.md")].result.is_ok());
    assert!(!by_key.contains_key(&key("skip.bin")), "filtered out");
    #[cfg(unix)]
    {
        let broken = by_key[&key("broken.md")].result.as_ref().unwrap_err();
        assert_eq!(broken.stage, Stage::Upload);
        assert!(matches!(broken.error, Error::File { .. }));
        assert_eq!(walked.len(), 3);
    }

    let unreadable = collect(
        Batch::new(&client)
            .documents_in(&not_a_dir)
            .start()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(unreadable.len(), 1);
    let failure = unreadable[0].result.as_ref().unwrap_err();
    assert_eq!(failure.stage, Stage::Source);
    assert!(matches!(failure.error, Error::File { .. }), "{failure}");

    // Settings that cannot work are refused before anything is sent.
    server.clear_requests();
    for bad in [
        Batch::new(&client).documents(["a.md"]).uploads(0),
        Batch::new(&client).documents(["a.md"]).running_jobs(10_001),
        Batch::new(&client).documents(["a.md"]).max_requests(0),
        Batch::new(&client),
    ] {
        match bad.start().await {
            Err(Error::InvalidArgument { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    // A state file damaged in the middle is a typed error too.
    let damaged = dir.join("damaged.jsonl");
    std::fs::write(
        &damaged,
        "{\"key\":\"a\",\"stage\":\"uploaded\",\"upload_id\":\"reducto://a\"}\nnot json\n{\"key\":\"b\",\"stage\":\"uploaded\",\"upload_id\":\"reducto://b\"}\n",
    )
    .unwrap();
    match Batch::new(&client)
        .documents(["a.md"])
        .state_file(&damaged)
        .start()
        .await
    {
        Err(Error::StateFile { line: Some(2), .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(server.requests().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn job_events_fetch_ended_jobs_at_once_instead_of_polling() {
    let server = server_with_duration(Duration::from_secs(5)).await;
    let client = client_for(&server);
    let (events, job_ids) = futures::channel::mpsc::unbounded::<String>();
    let run = Batch::new(&client)
        .documents(names(10).into_iter().map(|n| doc(&n, false)))
        .job_events(job_ids)
        .event_poll_policy(
            PollPolicy::default()
                .initial_delay(Duration::from_secs(600))
                .max_delay(Duration::from_secs(600))
                .jitter(false),
        )
        .start()
        .await
        .unwrap();
    let start = Instant::now();
    // A webhook receiver: once the jobs have ended, their ids arrive.
    let notifier = {
        let client = client.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(6)).await;
            let page = client.job().get_all().limit(100).send().await.unwrap();
            for job in page.jobs {
                events.unbounded_send(job.job_id).unwrap();
            }
        })
    };
    let outcomes = collect(run).await;
    notifier.await.unwrap();
    assert_eq!(outcomes.len(), 10);
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    // Each job polled twice: once when submitted, once on its event.
    assert_eq!(requests_under(&server, "GET", "/job/").len(), 20);
}

#[tokio::test(start_paused = true)]
async fn the_source_is_read_only_as_places_free_up() {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
    let server = server_with_duration(Duration::from_secs(30)).await;
    let client = client_for(&server);
    let read = Arc::new(AtomicUsize::new(0));
    let counter = read.clone();
    // 100,000 documents, made only when the batch asks for them.
    let documents = (0..100_000).map(move |i| {
        counter.fetch_add(1, Ordering::Relaxed);
        BatchDocument::url(format!("https://example.com/{i}.pdf"))
    });
    let mut run = Batch::new(&client)
        .documents(documents)
        .uploads(2)
        .submits(2)
        .running_jobs(10)
        .results(2)
        .poll_policy(quick_polls())
        .start()
        .await
        .unwrap();
    for received in 1..=25 {
        assert!(run.next().await.unwrap().result.is_ok());
        // Beyond the outcomes received, at most uploads + submits + running
        // jobs + results documents are held, plus one outcome in the
        // channel and the document being read.
        let held = read.load(Ordering::Relaxed) - received;
        assert!(held <= 2 + 2 + 10 + 2 + 2, "{held} documents held");
    }
    drop(run);
}

#[test]
fn a_batch_and_its_run_can_be_spawned() {
    fn spawnable<T: Send + 'static>() {}
    spawnable::<Batch>();
    spawnable::<reducto::batch::BatchRun<FullResult>>();
    spawnable::<Outcome<FullResult>>();
}

#[tokio::test(start_paused = true)]
async fn a_one_shot_reader_is_uploaded_once_even_after_a_429() {
    let server = Server::builder()
        .job_duration(Duration::ZERO)
        .faults(
            Faults::new(3).rule(
                FaultRule::new(FaultAction::rate_limit_secs(1))
                    .route("/upload")
                    .times(1),
            ),
        )
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let reader = std::io::Cursor::new(b"# Streamed\n".to_vec());
    let outcomes = collect(
        Batch::new(&client)
            .documents([BatchDocument::new(
                "streamed",
                Document::reader(reader, "streamed.md"),
            )])
            .start()
            .await
            .unwrap(),
    )
    .await;
    let failure = outcomes[0].result.as_ref().unwrap_err();
    assert_eq!(failure.stage, Stage::Upload);
    assert!(failure.error.is_rate_limit(), "{failure}");
    assert_eq!(requests_to(&server, "POST", "/upload").len(), 1);
}

// ---- Every operation: extract, classify, split, resume, bad settings ----

/// A markdown document `name` with this text.
fn text_doc(name: &str, text: &str) -> BatchDocument {
    BatchDocument::new(
        name,
        Document::bytes(text.as_bytes().to_vec(), format!("{name}.md")),
    )
}

/// The invoice the extract tests fill.
#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct Invoice {
    /// The invoice number, as printed.
    number: String,
    /// The amount due.
    total: f64,
}

/// Invoice `i`: its own number and total; every fifth fails.
fn invoice_doc(i: usize) -> BatchDocument {
    let fail = if i % 5 == 4 { FAIL_MARKER } else { "" };
    text_doc(
        &format!("invoice-{i:02}"),
        &format!("# Invoice\n\nNumber: INV-{i}\n\nTotal: {i}.25\n\n{fail}\n"),
    )
}

#[tokio::test(start_paused = true)]
async fn a_typed_extract_batch_fills_each_documents_own_values() {
    let server = Server::builder()
        .job_duration(Duration::from_secs(3))
        .faults(
            Faults::new(3).rule(
                FaultRule::new(FaultAction::rate_limit_secs(1))
                    .route("/extract_async")
                    .times(6),
            ),
        )
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let mut documents: Vec<BatchDocument> = (0..20).map(invoice_doc).collect();
    documents.push(BatchDocument::path("/no/such/invoice.pdf"));
    let run = Batch::new(&client)
        .documents(documents)
        .extract::<Invoice>()
        .options(|e| e.system_prompt("Totals are in euros."))
        .poll_policy(quick_polls())
        .start()
        .await
        .unwrap();
    let progress = run.progress();
    let outcomes = collect(run).await;

    assert_eq!(outcomes.len(), 21, "one outcome per document");
    for outcome in &outcomes {
        if outcome.document == "/no/such/invoice.pdf" {
            let failure = outcome.result.as_ref().unwrap_err();
            assert_eq!(failure.stage, Stage::Upload, "{failure}");
            continue;
        }
        let i: usize = outcome.document["invoice-".len()..].parse().unwrap();
        match &outcome.result {
            Ok(extracted) => {
                assert_ne!(i % 5, 4, "{} should have failed", outcome.document);
                assert_eq!(
                    extracted.value,
                    Invoice {
                        number: format!("INV-{i}"),
                        total: i as f64 + 0.25
                    },
                    "{}",
                    outcome.document
                );
                assert_eq!(extracted.job_id, outcome.job_id);
            }
            Err(failure) => {
                assert_eq!(i % 5, 4, "{}: {failure}", outcome.document);
                assert_eq!(failure.stage, Stage::Wait, "{failure}");
                assert!(
                    matches!(failure.error, Error::JobFailed { .. }),
                    "{failure}"
                );
                assert!(outcome.job_id.is_some());
            }
        }
    }
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    assert_eq!(ok, 16);

    // Every document was submitted once it got past its 429s, and the batch
    // (not the client's retry loop) saw each 429.
    let submits = requests_to(&server, "POST", "/extract_async");
    assert_eq!(submits.len(), 20 + 6);
    assert_eq!(progress.borrow().rate_limited, 6, "the batch saw every 429");
    // Each went out with the schema generated from the type and the option
    // set once for the batch.
    let job_id = outcomes
        .iter()
        .find_map(|o| o.result.as_ref().ok().and(o.job_id.clone()))
        .unwrap();
    let job = client.job().get(&job_id).await.unwrap();
    let body: serde_json::Value = serde_json::from_str(job.raw_config.as_deref().unwrap()).unwrap();
    assert_eq!(
        body["instructions"]["system_prompt"],
        "Totals are in euros."
    );
    let properties = &body["instructions"]["schema"]["properties"];
    assert!(properties.get("number").is_some() && properties.get("total").is_some());
    assert!(requests_to(&server, "POST", "/parse_async").is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_untyped_extract_batch_sends_the_schema_given() {
    let server = server_with_duration(Duration::from_secs(1)).await;
    let client = client_for(&server);
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"number": {"type": "string"}}
    });
    let outcomes = collect(
        Batch::new(&client)
            .documents((0..3).map(invoice_doc))
            .extract::<serde_json::Value>()
            .options(|e| e.schema(schema))
            .poll_policy(quick_polls())
            .start()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(outcomes.len(), 3);
    for outcome in outcomes {
        let i: usize = outcome.document["invoice-".len()..].parse().unwrap();
        let value = outcome.result.unwrap().value;
        assert_eq!(value, serde_json::json!([{"number": format!("INV-{i}")}]));
    }
}

#[tokio::test(start_paused = true)]
async fn a_classify_batch_picks_each_documents_category() {
    let server = server_with_duration(Duration::from_secs(2)).await;
    let client = client_for(&server);
    let texts = [
        ("a", "Invoice INV-1. Total due: 30."),
        ("b", "Receipt. Paid in full, thank you."),
        (
            "c",
            "This contract binds both parties; the contract term is one year.",
        ),
        ("d", "Another invoice, the invoice total is due now."),
        ("e", FAIL_MARKER),
    ];
    let outcomes = collect(
        Batch::new(&client)
            .documents(texts.map(|(name, text)| text_doc(name, text)))
            .classify()
            .options(|c| {
                c.category("invoice", ["invoice", "due"])
                    .category("receipt", ["receipt", "paid"])
                    .category("contract", ["contract", "parties"])
            })
            .poll_policy(quick_polls())
            .start()
            .await
            .unwrap(),
    )
    .await;
    let picked: HashMap<String, Result<String, Stage>> = outcomes
        .into_iter()
        .map(|o| {
            let result = o.result.map(|c| c.category).map_err(|f| f.stage);
            (o.document, result)
        })
        .collect();
    let expected: HashMap<String, Result<String, Stage>> = [
        ("a", Ok("invoice")),
        ("b", Ok("receipt")),
        ("c", Ok("contract")),
        ("d", Ok("invoice")),
        ("e", Err(Stage::Wait)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.map(str::to_owned)))
    .collect();
    assert_eq!(picked, expected);
    assert_eq!(requests_to(&server, "POST", "/classify_async").len(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_split_batch_gives_each_document_its_parts() {
    let server = server_with_duration(Duration::from_secs(1)).await;
    let client = client_for(&server);
    let outcomes = collect(
        Batch::new(&client)
            .documents([text_doc("packet", "An invoice with its invoice total.")])
            .split()
            .options(|s| {
                s.category("invoice", "Invoices and totals")
                    .category("receipt", "Receipts")
            })
            .poll_policy(quick_polls())
            .start()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(outcomes.len(), 1);
    let split = outcomes.into_iter().next().unwrap().result.unwrap();
    let json = serde_json::to_value(&split.result).unwrap();
    let invoice = json["splits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "invoice")
        .expect("an invoice split");
    assert_eq!(invoice["pages"], serde_json::json!([1]), "{json}");
}

#[tokio::test(start_paused = true)]
async fn an_extract_batch_resumes_from_its_state_file_without_submitting_twice() {
    let server = server_with_duration(Duration::from_secs(20)).await;
    let client = client_for(&server);
    let dir = temp_dir("resume-extract");
    let state_path = dir.join("state.jsonl");
    let batch = |client: &reducto::Reducto| {
        Batch::new(client)
            .documents((0..24).map(|i| invoice_doc(i * 5))) // none failing
            .extract::<Invoice>()
            .uploads(4)
            .submits(2)
            .running_jobs(6)
            .poll_policy(quick_polls())
            .state_file(&state_path)
    };

    // First run, dropped once some are done and others are running.
    let run = batch(&client).start().await.unwrap();
    let mut progress = run.progress();
    loop {
        let p = progress.borrow_and_update().clone();
        if p.done >= 6 && p.running >= 2 {
            break;
        }
        progress.changed().await.unwrap();
    }
    drop(run);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let before = state_of(&state_path);
    let done_before = before.values().filter(|s| s.2).count();
    let submitted_before = before.values().filter(|s| s.1).count();
    let uploaded_before = before.values().filter(|s| s.0).count();
    assert!(submitted_before > done_before, "jobs running at the crash");

    // Second run: only what was not submitted is submitted.
    server.clear_requests();
    let second = collect(batch(&client).start().await.unwrap()).await;
    assert_eq!(second.len() + done_before, 24, "every document done once");
    for outcome in &second {
        let i: usize = outcome.document["invoice-".len()..].parse().unwrap();
        let extracted = outcome.result.as_ref().unwrap();
        assert_eq!(extracted.value.number, format!("INV-{i}"));
        assert!(!before.get(&outcome.document).is_some_and(|s| s.2));
    }
    assert_eq!(
        requests_to(&server, "POST", "/extract_async").len(),
        24 - submitted_before,
        "no document submitted twice"
    );
    assert_eq!(uploads_by_file(&server).len(), 24 - uploaded_before);
    assert!(uploads_by_file(&server).values().all(|&n| n == 1));
    let resumed = second.iter().filter(|o| o.resumed).count();
    assert_eq!(resumed, before.values().filter(|s| !s.2).count());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn operation_settings_no_document_can_succeed_with_fail_start() {
    let server = server_with_duration(Duration::ZERO).await;
    let client = client_for(&server);
    let err = Batch::new(&client)
        .documents(["a.pdf"])
        .classify()
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { name, .. } if *name == "classification_schema"),
        "{err:?}"
    );
    let err = Batch::new(&client)
        .documents(["a.pdf"])
        .extract::<serde_json::Value>()
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { name, .. } if *name == "schema"),
        "{err:?}"
    );
    let err = Batch::new(&client)
        .documents(["a.pdf"])
        .split()
        .options(|s| s.queue_priority(reducto::types::QueuePriority::Batch))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test(start_paused = true)]
async fn pipeline_and_edit_batches_run_each_document_as_a_job() {
    let definition: serde_json::Value =
        serde_json::from_str(include_str!("../conformance/python/pipeline.json")).unwrap();
    let server = Server::builder()
        .job_duration(Duration::from_secs(1))
        .pipeline("packets", definition)
        .start()
        .await
        .unwrap();
    let client = client_for(&server);
    let packet =
        "Invoice number: INV-1\nInvoice total due: 10\n\u{c}Receipt of payment\nPaid by card\n";
    let packets = || (0..3).map(|i| text_doc(&format!("packet-{i}"), packet));

    let outcomes = collect(
        Batch::new(&client)
            .documents(packets())
            .pipeline("packets")
            .poll_policy(quick_polls())
            .start()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(outcomes.len(), 3);
    for outcome in &outcomes {
        let out = outcome.result.as_ref().unwrap();
        assert!(out.result.split.is_some() && out.result.extract.is_some());
    }
    assert_eq!(requests_to(&server, "POST", "/pipeline_async").len(), 3);

    // An unknown pipeline: each document fails at submit, not retried.
    let outcomes = collect(
        Batch::new(&client)
            .documents(packets())
            .pipeline("nope")
            .start()
            .await
            .unwrap(),
    )
    .await;
    for outcome in outcomes {
        let failure = outcome.result.unwrap_err();
        assert_eq!(failure.stage, Stage::Submit);
        assert!(failure.error.is_not_found(), "{failure}");
    }
    assert_eq!(requests_to(&server, "POST", "/pipeline_async").len(), 6);

    let outcomes = collect(
        Batch::new(&client)
            .documents(packets())
            .edit("replace \"card\" with \"cash\"")
            .poll_policy(quick_polls())
            .start()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(outcomes.len(), 3);
    for outcome in outcomes {
        let edited = outcome.result.unwrap();
        let text = reqwest::get(edited.document_url.as_str())
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("Paid by cash"), "{text}");
    }
    assert_eq!(requests_to(&server, "POST", "/edit_async").len(), 3);
}
