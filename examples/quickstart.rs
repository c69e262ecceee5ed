//! The flow of Reducto's job-management docs, end to end: upload, parse,
//! start a job, follow it, wait for it, cancel one, list every job, handle
//! an error.
//!
//! `cargo run --example quickstart` runs offline against the local Reducto
//! server (started in-process); with `REDUCTO_API_KEY` set it runs against
//! the real service instead (and spends credits).

use std::time::Duration;

use futures::TryStreamExt;
use reducto::{Error, JobStatus, PollPolicy};

mod support;

const DOCUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/sample.md");

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Keep the local server alive for the whole run.
    let (client, _local_server) =
        support::client(reducto_mock::Server::builder().job_duration(Duration::from_secs(2)))
            .await?;
    println!("API version: {}", client.api_version().await?);

    // Upload (streamed from disk) and parse synchronously.
    let upload = client.upload(DOCUMENT).await?;
    println!("\nUploaded {} as {}", DOCUMENT, upload.file_id);
    let parsed = client.parse().run(&upload).await?;
    let full = client.parse().full_result(&parsed).await?;
    println!(
        "Parsed in {:.2}s: {} pages, {} chunks",
        parsed.duration,
        parsed.usage.num_pages,
        full.chunks.len()
    );
    for block in full.chunks.iter().flat_map(|c| &c.blocks).take(4) {
        println!(
            "  [{}] {}",
            block.type_,
            block.content.lines().next().unwrap_or("")
        );
    }

    // Start an async job and follow its progress.
    let job_id = client.parse().run_job(&upload).await?.job_id;
    println!("\nStarted job {job_id}");
    let job = client.job().get(&job_id).await?;
    match &job.status {
        JobStatus::Completed => println!("Already completed"),
        JobStatus::Pending | JobStatus::Idle => println!("Still processing"),
        JobStatus::Failed => println!("Failed: {}", job.reason.as_deref().unwrap_or("")),
        other => println!("Status {other}"),
    }
    let quick = PollPolicy::default()
        .initial_delay(Duration::from_millis(250))
        .max_delay(Duration::from_secs(1));
    let mut updates = client.job().watch_with(&job_id, quick.clone());
    while let Some(update) = updates.try_next().await? {
        println!(
            "  {} {:>5.1}%",
            update.status,
            // A fraction, 0.0 to 1.0, as Reducto reports it.
            update.progress.unwrap_or(1.0) * 100.0
        );
    }

    // Submit and wait in one call: no sleep loop.
    let done = client.parse().run_job(&upload).wait_with(quick).await?;
    let result = client.parse().full_result(&done).await?;
    println!(
        "Waited for a second job: {}, {} chunks",
        done.job_id,
        result.chunks.len()
    );

    // Cancel a job.
    let doomed = client.parse().run_job(&upload).await?.job_id;
    client.job().cancel(&doomed).await?;
    let cancelled = client.job().get(&doomed).await?;
    // GET /job documents no Cancelled: a cancelled job is Failed, with the
    // cancel as its reason (GET /jobs lists it as Cancelled).
    println!(
        "\nCancelled job {doomed}: now {} ({})",
        cancelled.status,
        cancelled.reason.as_deref().unwrap_or("no reason given")
    );

    // One page, as get_all(limit=2, exclude_configs=True) ...
    let page = client
        .job()
        .get_all()
        .limit(2)
        .exclude_configs(true)
        .await?;
    println!(
        "\nFirst page: {} jobs, next cursor {:?}",
        page.jobs.len(),
        page.next_cursor
    );
    // ... and every job, over all pages, as a stream.
    let mut jobs = client.job().get_all().limit(2).stream();
    while let Some(job) = jobs.try_next().await? {
        println!("  Job {}: {} ({})", job.job_id, job.status, job.type_);
    }

    // Errors, as the official SDKs classify them.
    match client.job().get("no-such-job").await {
        Err(e) if e.is_not_found() => println!("\nJob not found, as expected: {e}"),
        Err(e) => println!("\nError: {:?} - {:?}", e.status(), e.body()),
        Ok(job) => println!("\nUnexpectedly found: {}", job.status),
    }
    Ok(())
}
