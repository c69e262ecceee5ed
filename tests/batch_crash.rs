//! A batch killed mid-run (SIGKILL, in a child process) and rerun with the
//! same state file: every document is done exactly once, none uploaded or
//! submitted twice, as the server's request recorder shows.
//!
//! The child is this test binary itself, run with `CRASH_CHILD_URL` and
//! `CRASH_CHILD_STATE` set, executing only [`crash_child`]. The kill lands
//! while the batch is quiescent towards the server: the parent stops the
//! child (SIGSTOP), lets requests in transit arrive, and kills it only if
//! every upload and submission the server has received is in the state
//! file (else it resumes the child and tries again a moment later). A kill
//! between the server creating an upload or job and the child writing its
//! line would duplicate that one request on the rerun, unavoidably: the
//! API has no idempotency key to recognise a repeated upload or submission.
#![cfg(unix)]

mod common;

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::*;
use futures::StreamExt;
use reducto::{
    batch::{Batch, BatchDocument},
    Document, PollPolicy,
};
use reducto_mock::Server;

const DOCS: usize = 60;

fn batch_documents() -> impl Iterator<Item = BatchDocument> {
    (0..DOCS).map(|i| {
        let name = format!("doc-{i:03}");
        BatchDocument::new(
            name.clone(),
            Document::bytes(
                format!("# {name}\n\nSome text.\n").into_bytes(),
                format!("{name}.md"),
            ),
        )
    })
}

/// Not a test by itself: the child's batch, when the parent set the
/// environment; prints `outcome <key> ok|failed resumed|fresh` per document.
#[tokio::test]
async fn crash_child() {
    let (Ok(url), Ok(state)) = (
        std::env::var("CRASH_CHILD_URL"),
        std::env::var("CRASH_CHILD_STATE"),
    ) else {
        return;
    };
    let client = builder_for(&url).build().unwrap();
    let mut run = Batch::new(&client)
        .documents(batch_documents())
        .uploads(2)
        .submits(1)
        .running_jobs(6)
        .poll_policy(
            PollPolicy::default()
                .initial_delay(Duration::from_millis(50))
                .max_delay(Duration::from_millis(100))
                .jitter(false),
        )
        .state_file(state)
        .start()
        .await
        .unwrap();
    while let Some(outcome) = run.next().await {
        println!(
            "outcome {} {} {}",
            outcome.document,
            if outcome.result.is_ok() {
                "ok"
            } else {
                "failed"
            },
            if outcome.resumed { "resumed" } else { "fresh" }
        );
    }
}

fn spawn_child(url: &str, state: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("CRASH_CHILD_URL", url)
        .env("CRASH_CHILD_STATE", state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig}");
}

/// Per stage, the keys the state file records (complete lines only).
fn recorded(state: &Path) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    let text = std::fs::read_to_string(state).unwrap_or_default();
    for line in text.lines() {
        if let Ok(record) = serde_json::from_str::<serde_json::Value>(line) {
            out.entry(record["stage"].as_str().unwrap_or("").to_owned())
                .or_default()
                .insert(record["key"].as_str().unwrap_or("").to_owned());
        }
    }
    out
}

fn count(server: &Server, path: &str) -> usize {
    requests_to(server, "POST", path).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_batch_reruns_without_uploading_or_submitting_twice() {
    let server = Server::builder()
        .job_duration(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("reducto-batch-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.jsonl");

    // First run: killed once some documents are done and others running.
    let mut child = spawn_child(&server.url(), &state);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no quiescent moment to kill at"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = recorded(&state);
        let done = r.get("done").map_or(0, HashSet::len);
        let submitted = r.get("submitted").map_or(0, HashSet::len);
        if done < 10 || submitted <= done {
            continue;
        }
        signal(&child, "-STOP");
        // Requests already sent reach the server and are answered.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = recorded(&state);
        let quiescent = server.stats().in_flight == 0
            && count(&server, "/upload") == r.get("uploaded").map_or(0, HashSet::len)
            && count(&server, "/parse_async") == r.get("submitted").map_or(0, HashSet::len);
        if quiescent {
            signal(&child, "-KILL");
            break;
        }
        signal(&child, "-CONT");
    }
    let killed = child.wait().unwrap();
    assert!(!killed.success(), "killed, not finished: {killed:?}");
    let before = recorded(&state);
    let done_before = before.get("done").cloned().unwrap_or_default();
    let submitted_before = before.get("submitted").cloned().unwrap_or_default();
    let unfinished: HashSet<&String> = submitted_before.difference(&done_before).collect();
    assert!(done_before.len() < DOCS, "killed mid-run");
    assert!(!unfinished.is_empty(), "jobs were running at the kill");

    // Rerun to the end with the same state file.
    let mut child = spawn_child(&server.url(), &state);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let outcomes: Vec<Vec<String>> = tokio::task::spawn_blocking(move || {
        stdout
            .lines()
            .map_while(Result::ok)
            // libtest may print "test crash_child ... " before the first.
            .filter_map(|l| l.find("outcome ").map(|at| l[at..].to_owned()))
            .map(|l| l.split(' ').skip(1).map(str::to_owned).collect())
            .collect()
    })
    .await
    .unwrap();
    assert!(child.wait().unwrap().success(), "the rerun finishes");

    // The rerun delivered exactly the documents the first run had not
    // finished, all successfully, resuming the jobs it had submitted.
    let rerun: HashSet<&String> = outcomes.iter().map(|o| &o[0]).collect();
    assert_eq!(rerun.len(), outcomes.len(), "one outcome per document");
    assert!(outcomes.iter().all(|o| o[1] == "ok"), "{outcomes:?}");
    assert!(rerun.is_disjoint(&done_before.iter().collect()));
    assert_eq!(rerun.len() + done_before.len(), DOCS);
    for key in &unfinished {
        let o = outcomes.iter().find(|o| &&o[0] == key).unwrap();
        assert_eq!(o[2], "resumed", "{key} waited on, not resubmitted");
    }

    // The server saw each document uploaded once and submitted once, over
    // both runs.
    let mut uploads = HashMap::<String, usize>::new();
    for request in requests_to(&server, "POST", "/upload") {
        let name = request.multipart_parts[0].filename.clone().unwrap();
        *uploads.entry(name).or_default() += 1;
    }
    assert_eq!(uploads.len(), DOCS);
    assert!(uploads.values().all(|&n| n == 1), "{uploads:?}");
    assert_eq!(count(&server, "/parse_async"), DOCS);
    assert_eq!(server.job_count(), DOCS, "one job per document");

    // And the state file records each document done exactly once.
    let mut done = HashMap::<String, usize>::new();
    for line in std::fs::read_to_string(&state).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if record["stage"] == "done" {
            *done
                .entry(record["key"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(done.len(), DOCS);
    assert!(done.values().all(|&n| n == 1), "{done:?}");
    println!(
        "killed after {} of {DOCS} done ({} jobs running); the rerun resumed them \
         and finished the rest: {DOCS} uploads, {DOCS} submissions in all",
        done_before.len(),
        unfinished.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
