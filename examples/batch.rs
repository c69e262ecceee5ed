//! Parses every document of a folder, like Reducto's CLI `reducto parse
//! ./dir`: writes `<file>.parse.md` next to each input, with a progress bar.
//!
//! ```sh
//! cargo run --example batch              # a demo folder, local server
//! cargo run --example batch -- ./docs    # your folder
//! ```
//!
//! Offline against the local Reducto server (started in-process) unless
//! `REDUCTO_API_KEY` is set, in which case it runs against Reducto (and
//! spends credits). With no folder it copies `examples/data` and a few
//! generated notes (one the local server fails on purpose) into a fresh
//! temporary folder, so the repository stays clean, and says where the
//! output went. The batch's state file, `.reducto-batch.jsonl` in the
//! folder, makes a rerun skip what is done and resume running jobs.

mod support;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reducto::{batch::Batch, Error, PollPolicy};

const STATE_FILE: &str = ".reducto-batch.jsonl";
const OUTPUT_SUFFIX: &str = ".parse.md";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let folder = match std::env::args_os().nth(1) {
        Some(folder) => PathBuf::from(folder),
        None => demo_folder().await?,
    };
    // Keep the local server alive for the whole run.
    let (client, _local_server) =
        support::client(reducto_mock::Server::builder().job_duration(Duration::from_secs(2)))
            .await?;

    let mut outcomes = Batch::new(&client)
        // Every file but our own outputs, the state file and hidden files.
        .documents_in_where(&folder, |path| {
            let name = path
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into());
            !name.starts_with('.') && !name.ends_with(OUTPUT_SUFFIX)
        })
        .state_file(folder.join(STATE_FILE))
        .poll_policy(
            PollPolicy::default()
                .initial_delay(Duration::from_millis(500))
                .max_delay(Duration::from_secs(5)),
        )
        .start()
        .await?;

    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let drawing = {
        let bar = bar.clone();
        let mut progress = outcomes.progress();
        tokio::spawn(async move {
            while progress.changed().await.is_ok() {
                let p = progress.borrow_and_update().clone();
                // The folder is walked lazily: the total grows as it is read.
                bar.set_length(p.completed() + p.skipped + p.in_progress());
                bar.set_position(p.completed() + p.skipped);
                bar.set_message(format!(
                    "uploading {} running {} done {} failed {} skipped {} | {:.1} docs/s",
                    p.uploading + p.submitting,
                    p.running + p.fetching,
                    p.done,
                    p.failed,
                    p.skipped,
                    p.throughput()
                ));
            }
        })
    };

    let (mut written, mut failed) = (0, 0);
    while let Some(outcome) = outcomes.next().await {
        match outcome.result {
            Ok(parsed) => {
                let markdown: Vec<&str> =
                    parsed.chunks.iter().map(|c| c.content.as_str()).collect();
                let output = format!("{}{OUTPUT_SUFFIX}", outcome.document);
                match tokio::fs::write(&output, markdown.join("\n\n")).await {
                    Ok(()) => written += 1,
                    Err(e) => say(&bar, format!("{output}: {e}")),
                }
            }
            Err(failure) => {
                failed += 1;
                say(&bar, format!("{}: {failure}", outcome.document));
            }
        }
    }
    let skipped = outcomes.progress().borrow().skipped;
    let _ = drawing.await;
    bar.finish();
    println!(
        "\n{written} written, {failed} failed, {skipped} finished by an earlier run; \
         outputs (*{OUTPUT_SUFFIX}) are next to the inputs in {}",
        folder.display()
    );
    Ok(())
}

/// A line above the bar, or on stderr when there is no terminal to draw on.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// A fresh folder with the sample document, a few generated notes and one
/// the local server fails on purpose.
async fn demo_folder() -> Result<PathBuf, Error> {
    let folder = std::env::temp_dir().join(format!("reducto-batch-example-{}", std::process::id()));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::File { path, source }
    };
    tokio::fs::create_dir_all(folder.join("notes"))
        .await
        .map_err(io(&folder))?;
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/sample.md");
    tokio::fs::copy(&sample, folder.join("sample.md"))
        .await
        .map_err(io(&sample))?;
    for i in 1..=12 {
        let path = folder.join(format!("notes/note-{i:02}.md"));
        let text =
            format!("# Note {i}\n\n## Summary\n\nThe {i}th note of the demo.\n\n- one\n- two\n");
        tokio::fs::write(&path, text).await.map_err(io(&path))?;
    }
    let broken = folder.join("notes/broken.md");
    let text = format!("# Broken\n\n{}\n", reducto_mock::FAIL_MARKER);
    tokio::fs::write(&broken, text).await.map_err(io(&broken))?;
    println!(
        "No folder given: parsing a demo folder, {}",
        folder.display()
    );
    Ok(folder)
}
