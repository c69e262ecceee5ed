//! What the layers cost, against the local server over loopback:
//! `job.get` through the public client, through the generated client, and
//! as a plain reqwest call of the same request (ratios to the plain call);
//! and listing 100,000 jobs through the stream against plain reqwest paging.
//!
//! `cargo bench --features bench-internals --bench cost`

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use reducto::{types::JobsResponse, Job, Reducto};
use reducto_mock::{SeedJob, Server};

const KEY: &str = "bench";
const CALLS: usize = 2_000;
const ROUNDS: usize = 7;

fn client(url: &str) -> Reducto {
    Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(url)
        .build()
        .expect("client")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn per_call(url: &str, job_id: &str) {
    let public = client(url);
    let http = reqwest::Client::new();
    let plain_url = format!("{url}/job/{job_id}");

    // Interleave the three in every round so drift hits them equally.
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for _ in 0..CALLS {
            let response = http
                .get(&plain_url)
                .bearer_auth(KEY)
                .header("accept", "application/json")
                .send()
                .await
                .expect("plain");
            let body = response.bytes().await.expect("body");
            let job: Job = serde_json::from_slice(&body).expect("decode");
            std::hint::black_box(job);
        }
        times[0].push(t.elapsed());

        let t = Instant::now();
        for _ in 0..CALLS {
            let job = reducto::__bench::generated_get_job(&public, job_id)
                .await
                .expect("generated");
            std::hint::black_box(job);
        }
        times[1].push(t.elapsed());

        let t = Instant::now();
        for _ in 0..CALLS {
            let job = public.job().get(job_id).await.expect("public");
            std::hint::black_box(job);
        }
        times[2].push(t.elapsed());
    }
    let [plain, generated, public] = times.map(median);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / CALLS as f64;
    println!("## job.get, {CALLS} sequential calls per round, median of {ROUNDS} rounds");
    println!("| path | per call | vs plain reqwest |");
    println!("|---|---|---|");
    for (name, d) in [
        ("plain reqwest + serde", plain),
        ("generated client (+ exec hook)", generated),
        ("public client", public),
    ] {
        println!(
            "| {name} | {:.1} µs | {:.2}x |",
            per(d),
            d.as_secs_f64() / plain.as_secs_f64()
        );
    }
}

async fn listing(url: &str, jobs: usize) {
    let public = client(url);
    let http = reqwest::Client::new();
    let mut stream_times = Vec::new();
    let mut plain_times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut n = 0;
        let mut stream = public
            .job()
            .get_all()
            .limit(500)
            .exclude_configs(true)
            .stream();
        while let Some(job) = stream.try_next().await.expect("job") {
            std::hint::black_box(&job);
            n += 1;
        }
        assert_eq!(n, jobs);
        stream_times.push(t.elapsed());

        let t = Instant::now();
        assert_eq!(plain_paging(&http, url).await, jobs);
        plain_times.push(t.elapsed());
    }
    let (stream, plain) = (median(stream_times), median(plain_times));
    println!("\n## Listing {jobs} jobs, 500 per page (median of 3)");
    println!("| path | time | jobs/s | vs plain paging |");
    println!("|---|---|---|---|");
    for (name, d) in [
        ("plain reqwest paging loop", plain),
        ("public stream (prefetch 1)", stream),
    ] {
        println!(
            "| {name} | {:.2} s | {:.0} | {:.2}x |",
            d.as_secs_f64(),
            jobs as f64 / d.as_secs_f64(),
            d.as_secs_f64() / plain.as_secs_f64()
        );
    }
}

/// A hand-written paging loop; returns the number of jobs listed.
async fn plain_paging(http: &reqwest::Client, url: &str) -> usize {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut request = http
            .get(format!("{url}/jobs"))
            .bearer_auth(KEY)
            .query(&[("limit", "500"), ("exclude_configs", "true")]);
        if let Some(c) = &cursor {
            request = request.query(&[("cursor", c)]);
        }
        let body = request
            .send()
            .await
            .expect("page")
            .bytes()
            .await
            .expect("body");
        let page: JobsResponse = serde_json::from_slice(&body).expect("decode");
        n += page.jobs.len();
        std::hint::black_box(&page.jobs);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return n,
        }
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let server = Server::start().await;
        let ids = server.seed_jobs([SeedJob::completed()]);
        per_call(&server.url(), &ids[0]).await;

        let jobs = 100_000;
        let listing_server = Server::start().await;
        listing_server.seed_jobs((0..jobs).map(|_| SeedJob::completed()));
        listing(&listing_server.url(), jobs).await;
    });
}
