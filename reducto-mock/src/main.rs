//! `reducto-mock`: serve the mock Reducto API until Ctrl-C.
//!
//! ```text
//! reducto-mock [--port N] [--api-key K] [--job-duration-ms N] [--url-result-threshold BYTES]
//!              [--pipeline ID=FILE.json]...
//!              [--record-limit N] [--upload-limit N]
//!              [--limit-in-flight N[@ROUTE]]... [--limit-rate R[@ROUTE]]...
//!              [--limit-window sliding|fixed] [--limit-retry-after-ms MS]
//! ```
//!
//! Run standalone for hours, its memory stays bounded: it records only the
//! last `--record-limit` requests and keeps only the last `--upload-limit`
//! uploads (1000 each by default).

use std::process::ExitCode;
use std::time::Duration;

use reducto_mock::{Faults, Limit, Server};

const USAGE: &str = "\
usage: reducto-mock [--port N] [--api-key K] [--job-duration-ms N] [--url-result-threshold BYTES]
                    [--pipeline ID=FILE.json]...
                    [--record-limit N] [--upload-limit N]
                    [--limit-in-flight N[@ROUTE]]... [--limit-rate R[@ROUTE]]...
                    [--limit-window sliding|fixed] [--limit-retry-after-ms MS]

Serves a mock of Reducto's API on http://127.0.0.1:N until Ctrl-C.
  --port N                      port to bind (default 0: a random free port)
  --api-key K                   accept only this bearer key (default: any non-empty key)
  --job-duration-ms N           how long async jobs stay Pending (default 2000)
  --url-result-threshold BYTES  return results larger than this as URL results (default: never)
  --pipeline ID=FILE.json       serve the pipeline defined in FILE.json as pipeline_id ID
                                (steps split/extract/edit with their endpoints' options;
                                repeatable)
  --record-limit N              requests kept in the request log, most recent first (default 1000; 0: none)
  --upload-limit N              uploads kept, most recent first (default 1000)
  --limit-in-flight N[@ROUTE]   429 above N requests in flight (to ROUTE only, e.g. /parse or
                                /job/*); repeatable
  --limit-rate R[@ROUTE]        429 above R requests per second (to ROUTE only); repeatable
  --limit-window sliding|fixed  the rate limits' 1 s window (default sliding)
  --limit-retry-after-ms MS     the wait in-flight 429s advertise (default 1000)
  -h, --help                    show this help";

/// Parsed command line.
#[derive(Debug)]
struct Args {
    port: u16,
    api_key: Option<String>,
    job_duration_ms: Option<u64>,
    url_result_threshold: Option<usize>,
    /// `--pipeline ID=FILE`: (id, file path).
    pipelines: Vec<(String, String)>,
    record_limit: usize,
    upload_limit: usize,
    limits: Vec<Limit>,
}

/// The binary's bounds on what it keeps (the library keeps everything a
/// test may ask for).
const DEFAULT_RECORD_LIMIT: usize = 1000;
const DEFAULT_UPLOAD_LIMIT: usize = 1000;

impl Default for Args {
    fn default() -> Self {
        Args {
            port: 0,
            api_key: None,
            job_duration_ms: None,
            url_result_threshold: None,
            pipelines: Vec::new(),
            record_limit: DEFAULT_RECORD_LIMIT,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            limits: Vec::new(),
        }
    }
}

/// `Ok(None)` means help was requested.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut out = Args::default();
    let mut fixed_window = None;
    let mut retry_after = None;
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value("--port")?;
                out.port = v.parse().map_err(|_| format!("invalid --port: {v}"))?;
            }
            "--api-key" => out.api_key = Some(value("--api-key")?),
            "--job-duration-ms" => {
                let v = value("--job-duration-ms")?;
                out.job_duration_ms = Some(
                    v.parse()
                        .map_err(|_| format!("invalid --job-duration-ms: {v}"))?,
                );
            }
            "--url-result-threshold" => {
                let v = value("--url-result-threshold")?;
                out.url_result_threshold = Some(
                    v.parse()
                        .map_err(|_| format!("invalid --url-result-threshold: {v}"))?,
                );
            }
            "--pipeline" => {
                let v = value("--pipeline")?;
                match v.split_once('=') {
                    Some((id, path)) if !id.is_empty() && !path.is_empty() => {
                        out.pipelines.push((id.to_owned(), path.to_owned()))
                    }
                    _ => return Err(format!("invalid --pipeline (want ID=FILE.json): {v}")),
                }
            }
            "--record-limit" => {
                let v = value("--record-limit")?;
                out.record_limit = v
                    .parse()
                    .map_err(|_| format!("invalid --record-limit: {v}"))?;
            }
            "--upload-limit" => {
                let v = value("--upload-limit")?;
                out.upload_limit = v
                    .parse()
                    .map_err(|_| format!("invalid --upload-limit: {v}"))?;
            }
            "--limit-in-flight" => {
                let (n, route) = limit_value("--limit-in-flight", &value("--limit-in-flight")?)?;
                out.limits.push(with_route(Limit::in_flight(n), route));
            }
            "--limit-rate" => {
                let (r, route) = limit_value("--limit-rate", &value("--limit-rate")?)?;
                let r = u32::try_from(r).map_err(|_| format!("invalid --limit-rate: {r}"))?;
                out.limits.push(with_route(Limit::per_second(r), route));
            }
            "--limit-window" => match value("--limit-window")?.as_str() {
                "sliding" => fixed_window = Some(false),
                "fixed" => fixed_window = Some(true),
                v => return Err(format!("invalid --limit-window: {v} (sliding or fixed)")),
            },
            "--limit-retry-after-ms" => {
                let v = value("--limit-retry-after-ms")?;
                retry_after =
                    Some(Duration::from_millis(v.parse().map_err(|_| {
                        format!("invalid --limit-retry-after-ms: {v}")
                    })?));
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    // Window and wait apply to every limit, whatever the flags' order.
    for limit in &mut out.limits {
        if fixed_window == Some(true) {
            *limit = limit.clone().fixed_window();
        }
        if let Some(d) = retry_after {
            *limit = limit.clone().retry_after(d);
        }
    }
    Ok(Some(out))
}

/// `N` or `N@ROUTE`.
fn limit_value(flag: &str, v: &str) -> Result<(usize, Option<String>), String> {
    let (n, route) = match v.split_once('@') {
        Some((n, r)) if !r.is_empty() => (n, Some(r.to_owned())),
        Some(_) => return Err(format!("invalid {flag}: {v} (empty route)")),
        None => (v, None),
    };
    let n = n.parse().map_err(|_| format!("invalid {flag}: {v}"))?;
    Ok((n, route))
}

fn with_route(limit: Limit, route: Option<String>) -> Limit {
    match route {
        Some(r) => limit.route(r),
        None => limit,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("reducto-mock: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut builder = Server::builder()
        .port(args.port)
        .record_limit(args.record_limit)
        .upload_limit(args.upload_limit);
    if let Some(k) = args.api_key {
        builder = builder.api_key(k);
    }
    if let Some(ms) = args.job_duration_ms {
        builder = builder.job_duration(Duration::from_millis(ms));
    }
    if let Some(t) = args.url_result_threshold {
        builder = builder.url_result_threshold(t);
    }
    for (id, path) in &args.pipelines {
        let definition = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
        match definition {
            Ok(d) => builder = builder.pipeline(id.clone(), d),
            Err(e) => {
                eprintln!("reducto-mock: --pipeline {id}={path}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if !args.limits.is_empty() {
        builder = builder.faults(Faults {
            limits: args.limits,
            ..Faults::default()
        });
    }
    let server = match builder.start().await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("reducto-mock: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("reducto-mock: cannot bind 127.0.0.1:{}: {e}", args.port);
            return ExitCode::FAILURE;
        }
    };
    println!("reducto-mock listening on {}", server.url());
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("reducto-mock: cannot wait for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    println!("reducto-mock shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let a = parse(&[
            "--port",
            "8080",
            "--api-key=k",
            "--job-duration-ms",
            "0",
            "--url-result-threshold",
            "10",
            "--pipeline",
            "inv=a.json",
            "--pipeline=x=b=c.json",
        ])
        .ok()
        .flatten()
        .expect("valid");
        assert_eq!(a.port, 8080);
        assert_eq!(a.api_key.as_deref(), Some("k"));
        assert_eq!(a.job_duration_ms, Some(0));
        assert_eq!(a.url_result_threshold, Some(10));
        assert_eq!(
            a.pipelines,
            [
                ("inv".into(), "a.json".into()),
                ("x".into(), "b=c.json".into())
            ]
        );
        assert_eq!(a.record_limit, DEFAULT_RECORD_LIMIT);
        assert_eq!(a.upload_limit, DEFAULT_UPLOAD_LIMIT);
        let b = parse(&["--record-limit", "0", "--upload-limit=5"])
            .ok()
            .flatten()
            .expect("valid");
        assert_eq!((b.record_limit, b.upload_limit), (0, 5));
        assert!(parse(&["--help"]).expect("ok").is_none());
    }

    #[test]
    fn parses_limits() {
        let a = parse(&[
            "--limit-in-flight",
            "200@/parse",
            "--limit-rate=500",
            "--limit-window",
            "fixed",
            "--limit-retry-after-ms",
            "250",
        ])
        .ok()
        .flatten()
        .expect("valid");
        assert_eq!(
            a.limits,
            [
                Limit::in_flight(200)
                    .route("/parse")
                    .retry_after(Duration::from_millis(250)),
                Limit::per_second(500).fixed_window(),
            ]
        );
        for bad in [
            &["--limit-in-flight", "x"][..],
            &["--limit-in-flight", "5@"],
            &["--limit-rate", "99999999999"],
            &["--limit-window", "hourly"],
            &["--limit-retry-after-ms", "-1"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--pipeline", "nofile"]).is_err());
        assert!(parse(&["--pipeline", "=a.json"]).is_err());
        assert!(parse(&["--record-limit", "-1"]).is_err());
    }
}
