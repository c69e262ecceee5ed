//! Bad input and hostile servers, as a table: each case names what the user
//! does or what the server sends, and the clear error (or correct behaviour)
//! the user gets. Nothing may panic, and every case runs under a timeout so
//! a hang fails instead of stalling the suite.
//!
//! The README summarises this table; `cargo test --test hostile -- --nocapture`
//! prints it.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use futures::TryStreamExt;
use reducto::{Error, JobStatus, Reducto, RetryPolicy};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::Mutex,
};

/// What a raw server does with each connection.
#[derive(Clone)]
enum Behaviour {
    /// Send these bytes (a whole HTTP response, or part of one), then close.
    Send(Vec<u8>),
    /// Accept, read the request, never answer.
    Silent,
    /// A 200 with a chunked body that never ends.
    Endless,
    /// The n-th connection gets the n-th of these bytes (the last repeats).
    Sequence(Vec<Vec<u8>>),
}

/// A server speaking raw bytes, recording each request's head.
struct RawServer {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn raw_server(behaviour: Behaviour) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let recorded = heads.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut behaviour = behaviour.clone();
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let seen = {
                    let mut heads = recorded.lock().await;
                    heads.push(String::from_utf8_lossy(&head).into_owned());
                    heads.len()
                };
                if let Behaviour::Sequence(answers) = &behaviour {
                    let n = (seen - 1).min(answers.len().saturating_sub(1));
                    behaviour = Behaviour::Send(answers.get(n).cloned().unwrap_or_default());
                }
                match behaviour {
                    Behaviour::Send(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                    }
                    Behaviour::Silent => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    Behaviour::Sequence(_) => {} // resolved to Send above
                    Behaviour::Endless => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                        if socket.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = format!("{:x}\r\n{}\r\n", 65536, "[".repeat(65536));
                        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                    }
                }
            });
        }
    });
    RawServer { url, heads, task }
}

/// An HTTP response with a body and its length.
fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Behaviour {
    let mut text = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("connection: close\r\n\r\n");
    text.push_str(body);
    Behaviour::Send(text.into_bytes())
}

/// The bytes a `Send` behaviour sends.
fn raw(behaviour: Behaviour) -> Vec<u8> {
    match behaviour {
        Behaviour::Send(bytes) => bytes,
        _ => Vec::new(),
    }
}

/// A client that retries like the official SDKs, with short waits.
fn retrying(url: &str) -> Reducto {
    Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(url)
        .retry(RetryPolicy::default().initial_delay(Duration::from_millis(10)))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// An error and its sources, each level's own text.
fn chain(error: &Error) -> Vec<String> {
    let mut levels = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        levels.push(cause.to_string());
        source = cause.source();
    }
    levels
}

/// Each level of the error says only its own part: no level repeats a
/// deeper one's text, and no placeholder URL shows.
fn said_once(levels: &[String]) -> Result<(), String> {
    for (i, outer) in levels.iter().enumerate() {
        if outer.contains("no.url.provided") {
            return Err(format!("placeholder URL in {levels:?}"));
        }
        for inner in &levels[i + 1..] {
            if !inner.is_empty() && outer.contains(inner.as_str()) {
                return Err(format!("{outer:?} repeats its cause {inner:?}"));
            }
        }
    }
    Ok(())
}

fn json(status: &str, body: &str) -> Behaviour {
    http(status, &[("content-type", "application/json")], body)
}

const KEY: &str = "sk-hostile-test";

fn client(url: &str) -> Reducto {
    Reducto::builder()
        .read_env(false)
        .api_key(KEY)
        .base_url(url)
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(5))
        .max_response_size(1 << 20)
        .build()
        .unwrap()
}

type Outcome = Result<String, Error>;
type Check = Box<dyn Fn(&Outcome, &[String]) -> Result<(), String>>;
type Run = Box<dyn Fn(String) -> Pin<Box<dyn Future<Output = Outcome>>>>;

struct Case {
    input: &'static str,
    expect: &'static str,
    server: Option<Behaviour>,
    run: Run,
    check: Check,
}

fn case<F, Fut>(
    input: &'static str,
    expect: &'static str,
    server: Option<Behaviour>,
    run: F,
    check: impl Fn(&Outcome, &[String]) -> Result<(), String> + 'static,
) -> Case
where
    F: Fn(String) -> Fut + 'static,
    Fut: Future<Output = Outcome> + 'static,
{
    Case {
        input,
        expect,
        server,
        run: Box::new(move |url| Box::pin(run(url))),
        check: Box::new(check),
    }
}

async fn get_job(url: String) -> Outcome {
    client(&url)
        .job()
        .get("job-1")
        .await
        .map(|j| j.status.to_string())
}

async fn list(url: String) -> Outcome {
    client(&url)
        .job()
        .get_all()
        .limit(2)
        .await
        .map(|p| format!("{} jobs, next {:?}", p.jobs.len(), p.next_cursor))
}

fn is(pred: fn(&Error) -> bool) -> impl Fn(&Outcome, &[String]) -> Result<(), String> {
    move |outcome, _| match outcome {
        Err(e) if pred(e) => Ok(()),
        other => Err(format!("got {other:?}")),
    }
}

fn ok_eq(expected: &'static str) -> impl Fn(&Outcome, &[String]) -> Result<(), String> {
    move |outcome, _| match outcome {
        Ok(v) if v == expected => Ok(()),
        other => Err(format!("got {other:?}")),
    }
}

fn decode_keeps(body: &'static str) -> impl Fn(&Outcome, &[String]) -> Result<(), String> {
    move |outcome, _| match outcome {
        Err(Error::Decode(d)) if d.body.as_ref() == body.as_bytes() => Ok(()),
        other => Err(format!("got {other:?}")),
    }
}

fn config_error(base_url: &'static str, key: &'static str) -> Outcome {
    Reducto::builder()
        .read_env(false)
        .api_key(key)
        .base_url(base_url)
        .build()
        .map(|_| "built".to_owned())
}

const JOB: &str = r#"{"status":"Completed","progress":100.0}"#;

fn cases() -> Vec<Case> {
    let page = |jobs: usize, next: &str| {
        let job = r#"{"job_id":"J","status":"Completed","type":"Parse","raw_config":"","created_at":"2026-11-28T00:00:00Z","num_pages":1,"total_pages":1,"duration":1.0}"#;
        let jobs: Vec<String> = (0..jobs)
            .map(|i| job.replace("\"J\"", &format!("\"j{i}\"")))
            .collect();
        format!(r#"{{"jobs":[{}],"next_cursor":{next}}}"#, jobs.join(","))
    };
    vec![
        case("200 from /parse_async with x-should-retry: true", "sent once: a success is never resent (one job, billed once)",
            Some(http("200 OK", &[("content-type", "application/json"), ("x-should-retry", "true")], r#"{"job_id":"once"}"#)),
            |url: String| async move { retrying(&url).parse().run_job("https://example.com/a.pdf").await.map(|r| r.job_id) },
            |o: &Outcome, heads: &[String]| match o {
                Ok(id) if id == "once" && heads.len() == 1 => Ok(()),
                other => Err(format!("got {other:?} after {} requests", heads.len())),
            }),
        case("connection reset mid-body, then a good answer", "retried like any connection failure: Completed",
            Some(Behaviour::Sequence(vec![
                b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"status\":\"Comp".to_vec(),
                raw(json("200 OK", JOB)),
            ])),
            |url: String| async move { retrying(&url).job().get("j").await.map(|j| j.status.to_string()) },
            |o: &Outcome, heads: &[String]| match o {
                Ok(status) if status == "Completed" && heads.len() == 2 => Ok(()),
                other => Err(format!("got {other:?} after {} requests", heads.len())),
            }),
        case("503 with retry-after-ms of 1e300", "InternalServer after the retries (the value is ignored, no panic)",
            Some(http("503 Service Unavailable", &[("retry-after-ms", "1e300"), ("retry-after", "1e300")], "{}")),
            |url: String| async move { retrying(&url).job().get("j").await.map(|j| j.status.to_string()) },
            |o: &Outcome, heads: &[String]| match o {
                Err(Error::InternalServer(_)) if heads.len() == 3 => Ok(()),
                other => Err(format!("got {other:?} after {} requests", heads.len())),
            }),
        case("server stops answering during a wait with a 1 s deadline", "WaitTimeout at the deadline, not after the request timeout",
            Some(Behaviour::Silent), |url: String| async move {
                let started = std::time::Instant::now();
                let outcome = retrying(&url).job().wait("j").timeout(Duration::from_secs(1)).await;
                let secs = started.elapsed().as_secs_f64();
                match outcome {
                    Err(Error::WaitTimeout { .. }) if secs < 1.5 => Ok("WaitTimeout".to_owned()),
                    Err(e) => Err(e),
                    Ok(job) => Ok(format!("{} after {secs} s", job.status)),
                }
            }, ok_eq("WaitTimeout")),
        case("prefetch(usize::MAX)", "clamped: the listing works",
            Some(json("200 OK", Box::leak(page(2, "null").into_boxed_str()))), |url: String| async move {
                let jobs: Vec<_> = client(&url).job().get_all().prefetch(usize::MAX).stream().try_collect().await?;
                Ok(format!("{} jobs", jobs.len()))
            }, ok_eq("2 jobs")),
        case("connection refused", "Connection error; each level of its source chain says its part once",
            None, |_url: String| async move { get_job("http://127.0.0.1:9".to_owned()).await },
            |o: &Outcome, _: &[String]| match o {
                Err(e @ Error::Connection(_)) => said_once(&chain(e)),
                other => Err(format!("got {other:?}")),
            }),
        case("body cut short, no retries", "Connection error naming the real URL, causes once",
            Some(Behaviour::Send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"status\":\"Comp".to_vec())),
            get_job, |o: &Outcome, _: &[String]| match o {
                Err(e @ Error::Connection(_)) if e.to_string().contains("/job/job-1") || chain(e).iter().any(|l| l.contains("/job/job-1")) => said_once(&chain(e)),
                other => Err(format!("got {other:?}, chain {:?}", o.as_ref().err().map(chain))),
            }),
        case("a file that does not exist", "File error; the OS message said once",
            None, |_url: String| async move {
                client("http://127.0.0.1:9").upload("/no/such/file.pdf").await.map(|u| u.file_id)
            }, |o: &Outcome, _: &[String]| match o {
                Err(e @ Error::File { .. }) => said_once(&chain(e)),
                other => Err(format!("got {other:?}")),
            }),
        case("a body that is not JSON", "Decode; the decoder's message said once",
            Some(json("200 OK", "hello")), get_job, |o: &Outcome, _: &[String]| match o {
                Err(e @ Error::Decode(_)) => said_once(&chain(e)),
                other => Err(format!("got {other:?}")),
            }),
        case("200 whose body is not JSON", "Decode, body kept",
            Some(json("200 OK", "hello")), get_job, decode_keeps("hello")),
        case("HTML error page (502)", "InternalServer with the HTML body",
            Some(http("502 Bad Gateway", &[("content-type", "text/html")], "<html><body>Bad gateway</body></html>")),
            get_job, |o: &Outcome, _: &[String]| match o {
                Err(Error::InternalServer(e)) if e.text().contains("Bad gateway") => Ok(()),
                other => Err(format!("got {other:?}")),
            }),
        case("truncated JSON", "Decode, body kept",
            Some(json("200 OK", r#"{"status": "Compl"#)), get_job, decode_keeps(r#"{"status": "Compl"#)),
        case("endless chunked body", "ResponseTooLarge at the limit (1 MiB here)",
            Some(Behaviour::Endless), get_job, is(|e| matches!(e, Error::ResponseTooLarge { limit: 1_048_576 }))),
        case("declared 1 GB body", "ResponseTooLarge before reading it",
            Some(Behaviour::Send(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1073741824\r\n\r\n{\"status\":".to_vec())),
            get_job, is(|e| matches!(e, Error::ResponseTooLarge { .. }))),
        case("wrong content type, valid JSON", "decodes (the body is what counts)",
            Some(http("200 OK", &[("content-type", "text/plain")], JOB)), get_job, ok_eq("Completed")),
        case("no content type, valid JSON", "decodes",
            Some(http("200 OK", &[], JOB)), get_job, ok_eq("Completed")),
        case("server accepts and never answers", "Timeout after the request timeout",
            Some(Behaviour::Silent), |url: String| async move {
                Reducto::builder().read_env(false).api_key(KEY).base_url(url)
                    .retry(RetryPolicy::none()).timeout(Duration::from_millis(300)).build()?
                    .job().get("j").await.map(|j| j.status.to_string())
            }, is(|e| matches!(e, Error::Timeout(_)))),
        case("server closes mid-body", "Connection error",
            Some(Behaviour::Send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"status\":\"Comp".to_vec())),
            get_job, is(|e| matches!(e, Error::Connection(_)))),
        case("server closes without answering", "Connection error",
            Some(Behaviour::Send(Vec::new())), get_job, is(|e| matches!(e, Error::Connection(_)))),
        case("garbage instead of HTTP", "Connection error",
            Some(Behaviour::Send(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec())), get_job, is(|e| matches!(e, Error::Connection(_)))),
        case("200 with an empty body", "Decode",
            Some(json("200 OK", "")), get_job, decode_keeps("")),
        case("invalid UTF-8 in the body", "Decode, bytes kept",
            Some(Behaviour::Send(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n\xff\xfe\xfd\xfc".to_vec())),
            get_job, is(|e| matches!(e, Error::Decode(d) if d.body.as_ref() == b"\xff\xfe\xfd\xfc"))),
        case("JSON nested 100,000 deep", "Decode (no stack overflow)",
            Some(json("200 OK", Box::leak(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_boxed_str()))),
            |url: String| async move {
                Reducto::builder().read_env(false).api_key(KEY).base_url(url).retry(RetryPolicy::none()).build()?
                    .job().get("j").await.map(|j| j.status.to_string())
            }, is(|e| matches!(e, Error::Decode(_)))),
        case("status null", "Decode",
            Some(json("200 OK", r#"{"status":null}"#)), get_job, is(|e| matches!(e, Error::Decode(_)))),
        case("status missing", "Decode",
            Some(json("200 OK", r#"{"progress":5}"#)), get_job, is(|e| matches!(e, Error::Decode(_)))),
        case("a number where a string belongs (job_id: 7)", "Decode",
            Some(json("200 OK", r#"{"jobs":[{"job_id":7,"status":"Completed","type":"Parse","raw_config":"","created_at":"2026-11-28T00:00:00Z","num_pages":null,"total_pages":null,"duration":null}],"next_cursor":null}"#)),
            list, is(|e| matches!(e, Error::Decode(_)))),
        case("a number out of range (progress 1e400)", "Decode",
            Some(json("200 OK", r#"{"status":"Pending","progress":1e400}"#)), get_job, is(|e| matches!(e, Error::Decode(_)))),
        case("a status a newer API added", "decodes as JobStatus::Other",
            Some(json("200 OK", r#"{"status":"Archived","brand_new":{"x":1}}"#)), |url: String| async move {
                let job = client(&url).job().get("j").await?;
                Ok(format!("{:?}", job.status))
            }, ok_eq(r#"Other("Archived")"#)),
        case("next_cursor is \"\"", "treated as the last page: no loop, no error",
            Some(json("200 OK", Box::leak(page(2, "\"\"").into_boxed_str()))), |url: String| async move {
                let jobs: Vec<_> = client(&url).job().get_all().limit(2).stream().try_collect().await?;
                Ok(format!("{} jobs", jobs.len()))
            }, ok_eq("2 jobs")),
        case("a page with more jobs than limit", "every job is kept",
            Some(json("200 OK", Box::leak(page(5, "null").into_boxed_str()))), list, ok_eq("5 jobs, next None")),
        case("204 No Content where JSON is due", "Status error",
            Some(Behaviour::Send(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec())), get_job,
            is(|e| matches!(e, Error::Status(a) if a.status() == 204))),
        case("404 as an HTML page", "NotFound with the body",
            Some(http("404 Not Found", &[("content-type", "text/html")], "<h1>nope</h1>")), get_job,
            is(|e| e.is_not_found() && e.body().is_some_and(|b| b.as_ref() == b"<h1>nope</h1>"))),
        case("429 with retry-after of a day", "RateLimit exposing the retry-after",
            Some(http("429 Too Many Requests", &[("retry-after", "86400")], "{}")), get_job,
            is(|e| matches!(e, Error::RateLimit(a) if a.retry_after() == Some(Duration::from_secs(86400))))),
        case("a parse result missing a required field", "Decode, body kept (not mistaken for a job id)",
            Some(json("200 OK", r#"{"job_id":"p1","duration":1.0,"usage":{"num_pages":1},"result":{"type":"full","chunks":[{"content":"x","embed":"x","blocks":[]}]}}"#)),
            |url: String| async move { client(&url).parse().run("https://example.com/a.pdf").await.map(|p| p.job_id) },
            is(|e| matches!(e, Error::Decode(d) if d.body.starts_with(b"{\"job_id\"")))),
        case("a presigned result URL that fails", "Connection error without the URL's signature",
            None, |_url: String| async move {
                let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let url = format!("http://{}/r1?X-Amz-Signature=SIGSECRET", closed.local_addr().unwrap());
                drop(closed);
                let parsed: reducto::types::ParseResponse = serde_json::from_value(serde_json::json!({
                    "job_id": "p", "duration": 1.0, "usage": {"num_pages": 1},
                    "result": {"type": "url", "url": url, "result_id": "r1"}
                })).unwrap();
                client("http://127.0.0.1:9").parse().full_result(&parsed).await.map(|r| r.chunks.len().to_string())
            }, is(|e| matches!(e, Error::Connection(_)) && !format!("{e} {e:?}").contains("SIGSECRET"))),
        case("cancel answers with non-JSON", "Decode",
            Some(json("200 OK", "OK")), |url: String| async move {
                client(&url).job().cancel("j").await.map(|v| v.to_string())
            }, decode_keeps("OK")),
        case("upload answer without file_id", "Decode",
            Some(json("200 OK", r#"{"presigned_url":null}"#)), |url: String| async move {
                client(&url).upload(reducto::Document::bytes("x", "a.txt")).await.map(|u| u.file_id)
            }, is(|e| matches!(e, Error::Decode(_)))),
        case("/version answers with a number", "Decode",
            Some(json("200 OK", "42")), |url: String| async move { client(&url).api_version().await },
            is(|e| matches!(e, Error::Decode(_)))),
        case("3xx redirect to another host", "followed; the key is not sent to the other host",
            None, |_url: String| async move {
                let other = raw_server(json("200 OK", JOB)).await;
                let target = format!("{}/job/j", other.url.replace("127.0.0.1", "localhost"));
                let first = raw_server(http("307 Temporary Redirect", &[("location", &target)], "")).await;
                let status = client(&first.url).job().get("j").await?.status;
                let heads = other.heads.lock().await.clone();
                let leaked = heads.iter().any(|h| h.to_lowercase().contains("authorization"));
                Ok(format!("{status}, key sent to other host: {leaked}"))
            }, ok_eq("Completed, key sent to other host: false")),
        case("base URL that is not a URL", "Config error at construction",
            None, |_| async { config_error("not a url", KEY) }, is(|e| matches!(e, Error::Config(_)))),
        case("base URL with another scheme (ftp://)", "Config error",
            None, |_| async { config_error("ftp://example.com", KEY) }, is(|e| matches!(e, Error::Config(_)))),
        case("key containing a newline", "Config error, key not echoed",
            None, |_| async { config_error("http://127.0.0.1:9", "sk-a\nInjected: 1") },
            is(|e| matches!(e, Error::Config(m) if !m.contains("Injected")))),
        case("key with non-ASCII text", "Config error",
            None, |_| async { config_error("http://127.0.0.1:9", "sk-ключ") }, is(|e| matches!(e, Error::Config(_)))),
        case("empty key", "Config error",
            None, |_| async { config_error("http://127.0.0.1:9", "") }, is(|e| matches!(e, Error::Config(_)))),
        case("empty job id", "InvalidArgument, no request",
            Some(json("200 OK", JOB)), |url: String| async move {
                client(&url).job().get("").await.map(|j| j.status.to_string())
            }, |o: &Outcome, heads: &[String]| match o {
                Err(Error::InvalidArgument { name: "job_id", .. }) if heads.is_empty() => Ok(()),
                other => Err(format!("got {other:?} after {} requests", heads.len())),
            }),
        case("job id \"..\"", "InvalidArgument (it would change the route)",
            Some(json("200 OK", JOB)), |url: String| async move {
                client(&url).job().get("..").await.map(|j| j.status.to_string())
            }, is(|e| matches!(e, Error::InvalidArgument { name: "job_id", .. }))),
        case("job id with / ? # % space and non-ASCII", "sent as one encoded path segment",
            Some(json("200 OK", JOB)), |url: String| async move {
                client(&url).job().get("a/b?c#d%e f/ü/..").await.map(|j| j.status.to_string())
            }, |o: &Outcome, heads: &[String]| {
                let line = heads.first().and_then(|h| h.lines().next()).unwrap_or("");
                if o.is_ok() && line == "GET /job/a%2Fb%3Fc%23d%25e%20f%2F%C3%BC%2F.. HTTP/1.1" {
                    Ok(())
                } else {
                    Err(format!("got {o:?}, request line {line:?}"))
                }
            }),
        case("limit 0 or 501", "InvalidArgument, no request",
            Some(json("200 OK", "{}")), |url: String| async move {
                let c = client(&url);
                let zero = c.job().get_all().limit(0).await.err();
                let big = c.job().get_all().limit(501).await.err();
                match (zero, big) {
                    (Some(Error::InvalidArgument { .. }), Some(e @ Error::InvalidArgument { .. })) => Err(e),
                    other => Ok(format!("{other:?}")),
                }
            }, |o: &Outcome, heads: &[String]| match o {
                Err(Error::InvalidArgument { name: "limit", .. }) if heads.is_empty() => Ok(()),
                other => Err(format!("got {other:?}")),
            }),
    ]
}

#[tokio::test]
async fn hostile_inputs_get_clear_errors() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    println!("| input | what the user gets | result |\n|---|---|---|");
    for case in cases {
        let server = match &case.server {
            Some(behaviour) => Some(raw_server(behaviour.clone()).await),
            None => None,
        };
        let url = server
            .as_ref()
            .map_or_else(|| "http://127.0.0.1:9".to_owned(), |s| s.url.clone());
        let outcome = tokio::time::timeout(Duration::from_secs(20), (case.run)(url)).await;
        let verdict = match outcome {
            Err(_) => Err("hung past 20 s".to_owned()),
            Ok(outcome) => {
                let heads = match &server {
                    Some(s) => s.heads.lock().await.clone(),
                    None => Vec::new(),
                };
                if let Err(e) = &outcome {
                    // Whatever went wrong, the key is never in the message.
                    let text = format!("{e} {e:?}");
                    if text.contains(KEY) {
                        failures.push(format!("{}: key leaked in {text}", case.input));
                    }
                }
                (case.check)(&outcome, &heads)
            }
        };
        println!(
            "| {} | {} | {} |",
            case.input,
            case.expect,
            if verdict.is_ok() { "ok" } else { "FAILED" }
        );
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", case.input));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn completed_status_round_trip_sanity() {
    // Guards the table's helpers: a well-formed answer is not an error.
    let server = raw_server(json("200 OK", JOB)).await;
    let job = client(&server.url).job().get("j").await.unwrap();
    assert_eq!(job.status, JobStatus::Completed);
}
