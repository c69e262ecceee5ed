//! `reducto-mock`: serve the mock Reducto API until Ctrl-C.
//!
//! ```text
//! reducto-mock [--port N] [--api-key K] [--job-duration-ms N] [--url-result-threshold BYTES]
//!              [--pipeline ID=FILE.json]...
//! ```

use std::process::ExitCode;
use std::time::Duration;

use reducto_mock::Server;

const USAGE: &str = "\
usage: reducto-mock [--port N] [--api-key K] [--job-duration-ms N] [--url-result-threshold BYTES]
                    [--pipeline ID=FILE.json]...

Serves a mock of Reducto's API on http://127.0.0.1:N until Ctrl-C.
  --port N                      port to bind (default 0: a random free port)
  --api-key K                   accept only this bearer key (default: any non-empty key)
  --job-duration-ms N           how long async jobs stay Pending (default 2000)
  --url-result-threshold BYTES  return results larger than this as URL results (default: never)
  --pipeline ID=FILE.json       serve the pipeline defined in FILE.json as pipeline_id ID
                                (steps split/extract/edit with their endpoints' options;
                                repeatable)
  -h, --help                    show this help";

/// Parsed command line.
#[derive(Debug, Default)]
struct Args {
    port: u16,
    api_key: Option<String>,
    job_duration_ms: Option<u64>,
    url_result_threshold: Option<usize>,
    /// `--pipeline ID=FILE`: (id, file path).
    pipelines: Vec<(String, String)>,
}

/// `Ok(None)` means help was requested.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut out = Args::default();
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
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(out))
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
    let mut builder = Server::builder().port(args.port);
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
        assert!(parse(&["--help"]).expect("ok").is_none());
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--pipeline", "nofile"]).is_err());
        assert!(parse(&["--pipeline", "=a.json"]).is_err());
    }
}
