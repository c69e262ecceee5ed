//! An upload from a path is streamed from disk: uploading a file far larger
//! than the memory we allow it does not grow the process by the file's size.
//!
//! Alone in its own test binary, so no other test's allocations disturb the
//! process's peak memory (VmHWM), which is what is measured.

#![cfg(target_os = "linux")]

use reducto::Reducto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FILE_SIZE: u64 = 512 << 20; // 512 MiB
const ALLOWED_GROWTH: u64 = 64 << 20; // 64 MiB

/// Peak resident memory of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line");
    kib * 1024
}

/// A server that reads an upload to the end, keeping only a byte count, and
/// answers like Reducto's /upload.
async fn sink_server() -> (String, tokio::task::JoinHandle<u64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut head = Vec::new();
        // Headers first, then exactly content-length bytes of body.
        let body_start = loop {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed in the headers");
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let headers = String::from_utf8_lossy(&head[..body_start]).to_lowercase();
        let length: u64 = headers
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a streamed file of known size is sent with a content-length");
        let mut received = (head.len() - body_start) as u64;
        while received < length {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed in the body");
            received += n as u64;
        }
        let body = br#"{"file_id":"reducto://big.bin","presigned_url":null}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(reply.as_bytes()).await.unwrap();
        socket.write_all(body).await.unwrap();
        received
    });
    (url, task)
}

#[tokio::test]
async fn a_512_mib_upload_is_streamed_in_bounded_memory() {
    let path = std::env::temp_dir().join(format!("reducto-big-{}.bin", std::process::id()));
    // Sparse: takes no disk space, reads back as zeros.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(FILE_SIZE)
        .unwrap();

    let (url, server) = sink_server().await;
    let client = Reducto::builder()
        .read_env(false)
        .api_key("test")
        .base_url(url)
        .build()
        .unwrap();

    let before = peak_rss();
    let upload = client.upload(&path).await;
    let after = peak_rss();
    std::fs::remove_file(&path).ok();

    let upload = upload.unwrap();
    assert_eq!(upload.file_id, "reducto://big.bin");
    let received = server.await.unwrap();
    assert!(
        received > FILE_SIZE,
        "the whole file was sent ({received} bytes)"
    );
    let growth = after.saturating_sub(before);
    println!(
        "uploaded {} MiB; peak memory grew by {:.1} MiB (allowed {} MiB)",
        FILE_SIZE >> 20,
        growth as f64 / (1 << 20) as f64,
        ALLOWED_GROWTH >> 20
    );
    assert!(
        growth < ALLOWED_GROWTH,
        "peak memory grew by {growth} bytes uploading a {FILE_SIZE}-byte file"
    );
}
