//! The batch pipeline against a server whose limit it does not know, and
//! its peak memory against the number of inputs. Prints figures side by
//! side in one run; ratios matter, not absolute times (machines are shared
//! and noisy).
//!
//! `cargo bench --bench batch` (2,000 documents; memory 2,000 vs 20,000)
//! `BATCH_BENCH_FULL=1 cargo bench --bench batch` (10,000; 10,000 vs 100,000)
//!
//! The comparison runs the local server in this process with an in-flight
//! limit of [`LIMIT`] requests (429 with `retry-after: 1` above it) and
//! [`LATENCY`] on every request, so that requests overlap as they do over a
//! real network: without latency a loopback request is over before the
//! next one starts and no strategy ever meets the limit. Each strategy gets
//! a fresh server, so its counters are its own.
//!
//! Peak memory is the batch's own VmHWM, in a child process per size (the
//! high-water mark never goes down within a process), against a server in
//! another child process (its jobs do not count against the client).

mod support;
use support::peak_rss;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use futures::{future, StreamExt};
use reducto::{
    batch::{Batch, BatchDocument},
    Document, PollPolicy, Reducto,
};
use reducto_mock::{FaultAction, FaultRule, Faults, Limit, Server};

/// The server's in-flight limit, unknown to the adaptive batch.
const LIMIT: usize = 32;
/// Latency of every request (a network's round trip plus the server's work).
const LATENCY: Duration = Duration::from_millis(25);
/// How long each job stays pending.
const JOB_DURATION: Duration = Duration::from_millis(50);

fn full() -> bool {
    std::env::var_os("BATCH_BENCH_FULL").is_some_and(|v| !v.is_empty() && v != "0")
}

fn client(url: &str) -> Reducto {
    Reducto::builder()
        .read_env(false)
        .api_key("bench")
        .base_url(url)
        .build()
        .expect("client")
}

/// The same polling for every strategy: soon after the job's expected end,
/// then backing off.
fn polls() -> PollPolicy {
    PollPolicy::default()
        .initial_delay(Duration::from_millis(50))
        .multiplier(1.5)
        .max_delay(Duration::from_millis(500))
}

/// Document `i`: a small markdown file, made when asked for (lazily).
fn document(i: usize) -> BatchDocument {
    let name = format!("doc-{i:06}.md");
    let body = format!("# Document {i}\n\nA few words about document number {i}.\n");
    BatchDocument::new(name.clone(), Document::bytes(body.into_bytes(), name))
}

async fn limited_server() -> Server {
    Server::builder()
        .job_duration(JOB_DURATION)
        .record_limit(0)
        .upload_limit(5_000)
        .faults(
            Faults::new(1)
                .limit(Limit::in_flight(LIMIT))
                .rule(FaultRule::new(FaultAction::Latency(LATENCY))),
        )
        .start()
        .await
        .expect("server")
}

/// One strategy's figures.
struct Figures {
    time: Duration,
    requests: u64,
    limited: u64,
    failed: usize,
    peak_in_flight: usize,
}

/// upload -> parse().run_job -> job().wait per document,
/// `buffer_unordered(width)`, with the client's default retries.
async fn fixed_loop(url: &str, docs: usize, width: usize) -> usize {
    let client = client(url);
    futures::stream::iter(0..docs)
        .map(|i| {
            let client = client.clone();
            async move {
                let name = format!("doc-{i:06}.md");
                let body = format!("# Document {i}\n\nA few words about document number {i}.\n");
                let upload = client
                    .upload(Document::bytes(body.into_bytes(), name))
                    .await?;
                let job_id = client.parse().run_job(&upload).await?.job_id;
                client.job().wait(&job_id).poll_policy(polls()).await?;
                Ok::<_, reducto::Error>(())
            }
        })
        .buffer_unordered(width)
        .filter(|r| future::ready(r.is_err()))
        .count()
        .await
}

/// The batch with its defaults (at most 64 requests in flight, above the
/// server's limit) and the same polling as the loops.
async fn adaptive(url: &str, docs: usize) -> usize {
    let client = client(url);
    let run = Batch::new(&client)
        .documents((0..docs).map(document))
        .poll_policy(polls())
        .start()
        .await
        .expect("batch starts");
    run.filter(|o| future::ready(o.result.is_err()))
        .count()
        .await
}

async fn measure(strategy: &str, docs: usize) -> Figures {
    let server = limited_server().await;
    let url = server.url();
    let started = Instant::now();
    let failed = match strategy {
        "adaptive" => adaptive(&url, docs).await,
        "fixed-64" => fixed_loop(&url, docs, 64).await,
        _ => fixed_loop(&url, docs, LIMIT).await,
    };
    let time = started.elapsed();
    let stats = server.stats();
    server.shutdown().await;
    Figures {
        time,
        requests: stats.requests,
        limited: stats.limited(),
        failed,
        peak_in_flight: stats.peak_in_flight,
    }
}

async fn comparison(docs: usize) {
    println!(
        "## {docs} documents, server limit {LIMIT} requests in flight (unknown to the batch), \
         {LATENCY:?} per request, jobs {JOB_DURATION:?}"
    );
    println!("| strategy | wall time | vs loop at N | requests | 429s | 429s vs adaptive | failed | peak in flight |");
    println!("|---|---|---|---|---|---|---|---|");
    let labels = [
        ("loop-at-N", format!("fixed loop at N = {LIMIT}")),
        ("adaptive", "adaptive batch (max 64)".to_owned()),
        ("fixed-64", "fixed `buffer_unordered(64)`".to_owned()),
    ];
    let mut results = Vec::new();
    for (key, _) in &labels {
        results.push(measure(key, docs).await);
    }
    let base = results[0].time.as_secs_f64();
    let adaptive_429 = results[1].limited.max(1) as f64;
    for ((_, label), f) in labels.iter().zip(&results) {
        println!(
            "| {label} | {:.1} s | {:.2}x | {} | {} | {:.1}x | {} | {} |",
            f.time.as_secs_f64(),
            f.time.as_secs_f64() / base,
            f.requests,
            f.limited,
            f.limited as f64 / adaptive_429,
            f.failed,
            f.peak_in_flight,
        );
    }
    println!(
        "\nadaptive / loop at N: {:.2}x the time; fixed-64 sent {:.1}x the 429s of adaptive",
        results[1].time.as_secs_f64() / base,
        results[2].limited as f64 / adaptive_429,
    );
}

/// Child process: serve without limits, print the URL, run until stdin
/// closes.
fn serve() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let server = Server::builder()
            .job_duration(Duration::ZERO)
            .record_limit(0)
            .upload_limit(5_000)
            .start()
            .await
            .expect("server");
        println!("{}", server.url());
        std::io::stdout().flush().ok();
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
    });
}

/// Child process: run `n` lazily made documents through a batch, print
/// "outcomes failed peak_bytes ms".
fn run_batch(url: &str, n: usize) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let (outcomes, failed) = rt.block_on(async {
        let client = client(url);
        let mut run = Batch::new(&client)
            .documents((0..n).map(document))
            .poll_policy(
                PollPolicy::default()
                    .initial_delay(Duration::from_millis(5))
                    .max_delay(Duration::from_millis(50)),
            )
            .start()
            .await
            .expect("batch starts");
        let (mut outcomes, mut failed) = (0usize, 0usize);
        while let Some(outcome) = run.next().await {
            outcomes += 1;
            failed += usize::from(outcome.result.is_err());
        }
        (outcomes, failed)
    });
    println!(
        "{outcomes} {failed} {} {}",
        peak_rss(),
        started.elapsed().as_millis()
    );
}

fn memory_comparison(sizes: [usize; 2]) {
    let exe = std::env::current_exe().expect("own path");
    println!("\n## Peak memory of the batch (its own VmHWM; server in another process, no limits)");
    println!("| documents | batch peak RSS | failed | time | documents/s |");
    println!("|---|---|---|---|---|");
    let mut peaks = Vec::new();
    for n in sizes {
        let mut server = Command::new(&exe)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server child");
        let mut url = String::new();
        BufReader::new(server.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("server url");
        let out = Command::new(&exe)
            .args(["--batch", url.trim(), &n.to_string()])
            .output()
            .expect("batch child");
        drop(server.stdin.take()); // tells the server to stop
        let _ = server.wait();
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<u64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [outcomes, failed, peak, ms] = fields[..] else {
            panic!("batch child printed {text:?}");
        };
        assert_eq!(outcomes as usize, n, "one outcome per document");
        peaks.push(peak);
        println!(
            "| {n} | {:.1} MiB | {failed} | {:.1} s | {:.0} |",
            peak as f64 / (1 << 20) as f64,
            ms as f64 / 1e3,
            n as f64 / (ms as f64 / 1e3)
        );
    }
    println!(
        "\n{}x the documents: {:.2}x the peak memory",
        sizes[1] / sizes[0],
        peaks[1] as f64 / peaks[0] as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        return serve();
    }
    if let Some(i) = args.iter().position(|a| a == "--batch") {
        return run_batch(&args[i + 1], args[i + 2].parse().expect("count"));
    }
    let (docs, sizes) = if full() {
        (10_000, [10_000, 100_000])
    } else {
        (2_000, [2_000, 20_000])
    };
    println!(
        "(sizes: {}; BATCH_BENCH_FULL=1 for 10,000 and 10,000 vs 100,000)\n",
        if full() { "full" } else { "default" }
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(comparison(docs));
    drop(rt);
    memory_comparison(sizes);
}
