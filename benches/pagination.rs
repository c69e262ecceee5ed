//! Listing jobs through the stream: prefetch against none, and peak memory
//! against the number of jobs. Prints figures side by side in one run;
//! ratios matter, not absolute times (machines are shared and noisy).
//!
//! `cargo bench --bench pagination`
//!
//! Peak memory is each client's own VmHWM, measured in a child process per
//! run (the high-water mark never goes down within a process), against a
//! local server in another child process (so its 1,000,000 seeded jobs do not
//! count against the client).

mod support;
use support::peak_rss;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use reducto::Reducto;
use reducto_mock::{SeedJob, Server};

fn client(url: &str) -> Reducto {
    Reducto::builder()
        .read_env(false)
        .api_key("bench")
        .base_url(url)
        .build()
        .expect("client")
}

fn seed(server: &Server, n: usize) {
    // Seeding in batches keeps the server's temporary vectors small.
    for start in (0..n).step_by(50_000) {
        let batch = (start..n.min(start + 50_000)).map(|i| {
            SeedJob::completed()
                .raw_config(format!("{{\"input\":\"https://example.com/{i}.pdf\"}}"))
        });
        server.seed_jobs(batch);
    }
}

/// Lists every job, doing `work` of async work per page; returns the time.
async fn list_with_work(url: &str, prefetch: usize, work: Duration) -> (Duration, usize) {
    let client = client(url);
    let started = Instant::now();
    let mut pages = client.job().get_all().limit(100).prefetch(prefetch).pages();
    let mut jobs = 0;
    while let Some(page) = pages.try_next().await.expect("page") {
        jobs += page.jobs.len();
        tokio::time::sleep(work).await; // the consumer's per-page work
    }
    (started.elapsed(), jobs)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn prefetch_comparison() {
    const JOBS: usize = 2_000; // 20 pages of 100
    let latency = Duration::from_millis(20);
    let work = Duration::from_millis(20);
    let server = Server::builder()
        .page_latency(latency)
        .start()
        .await
        .expect("server");
    seed(&server, JOBS);
    let url = server.url();

    println!("## Prefetch: {JOBS} jobs, 100 per page, {latency:?} server latency per page, {work:?} consumer work per page (median of 5)");
    println!("| prefetch | time | jobs | vs no prefetch |");
    println!("|---|---|---|---|");
    let mut baseline = None;
    for prefetch in [0usize, 1, 2] {
        let mut times = Vec::new();
        let mut count = 0;
        for _ in 0..5 {
            let (t, n) = list_with_work(&url, prefetch, work).await;
            times.push(t);
            count = n;
        }
        let t = median(times);
        let base = *baseline.get_or_insert(t);
        println!(
            "| {prefetch} | {:.0} ms | {count} | {:.2}x faster |",
            t.as_secs_f64() * 1e3,
            base.as_secs_f64() / t.as_secs_f64()
        );
    }
}

/// Child process: serve `n` seeded jobs, print the URL, run until stdin closes.
fn serve(n: usize) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let server = Server::start().await;
        seed(&server, n);
        println!("{}", server.url());
        std::io::stdout().flush().ok();
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
    });
}

/// Child process: stream every job from `url`, print "count peak_bytes".
fn stream_all(url: &str) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    let count = rt.block_on(async {
        let client = client(url);
        let mut jobs = client
            .job()
            .get_all()
            .limit(500)
            .exclude_configs(true)
            .stream();
        let mut count = 0usize;
        while let Some(job) = jobs.try_next().await.expect("job") {
            std::hint::black_box(&job);
            count += 1;
        }
        count
    });
    println!("{count} {} {}", peak_rss(), started.elapsed().as_millis());
}

fn memory_comparison() {
    let exe = std::env::current_exe().expect("own path");
    println!("\n## Peak memory of the client streaming every job (limit 500, prefetch 1)");
    println!("| jobs | pages | client peak RSS | time | jobs/s |");
    println!("|---|---|---|---|---|");
    let mut peaks = Vec::new();
    for n in [10_000usize, 1_000_000] {
        let mut server = Command::new(&exe)
            .args(["--serve", &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server child");
        let mut url = String::new();
        BufReader::new(server.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("server url");
        let out = Command::new(&exe)
            .args(["--stream", url.trim()])
            .output()
            .expect("client child");
        drop(server.stdin.take()); // tells the server to stop
        let _ = server.wait();
        let text = String::from_utf8_lossy(&out.stdout);
        let fields: Vec<u64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [count, peak, ms] = fields[..] else {
            panic!("client child printed {text:?}");
        };
        assert_eq!(count as usize, n, "every job streamed");
        peaks.push(peak);
        println!(
            "| {n} | {} | {:.1} MiB | {:.1} s | {:.0} |",
            n.div_ceil(500),
            peak as f64 / (1 << 20) as f64,
            ms as f64 / 1e3,
            n as f64 / (ms as f64 / 1e3)
        );
    }
    println!(
        "\n100x the jobs: {:.2}x the peak memory",
        peaks[1] as f64 / peaks[0] as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return serve(args[i + 1].parse().expect("job count"));
    }
    if let Some(i) = args.iter().position(|a| a == "--stream") {
        return stream_all(&args[i + 1]);
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(prefetch_comparison());
    memory_comparison();
}
