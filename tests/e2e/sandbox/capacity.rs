//! Capacity of the sandbox at 100,000 streams: a measurement run by hand, ignored by default.

use std::time::{Duration, Instant};

use crate::common::Sandbox;

/// Capacity: at `--tps 0` with 100,000 streams the sandbox must serve at least 5,000
/// Describe requests/s on this 2-core machine. A measurement, not a timed test: run with
/// `cargo test --release --test e2e -- --ignored capacity --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
async fn capacity_describe_at_tps_0_with_100k_streams() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

    const STREAMS: usize = 100_000;
    const CONNECTIONS: usize = 16;
    const RUN: Duration = Duration::from_secs(5);

    let began = Instant::now();
    let sb = Sandbox::start(&["--streams", &STREAMS.to_string(), "--tps", "0"]);
    let ready_in = began.elapsed();
    let rss = std::fs::read_to_string(format!("/proc/{}/status", sb.child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
        })
        .unwrap_or_default();

    let port = sb.port();
    let deadline = Instant::now() + RUN;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CONNECTIONS {
        clients.spawn(async move {
            let conn = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            conn.set_nodelay(true).unwrap();
            let (read, mut write) = conn.into_split();
            let mut read = tokio::io::BufReader::new(read);
            let mut done = 0u64;
            let mut i = c;
            while Instant::now() < deadline {
                let body = format!(r#"{{"DeliveryStreamName":"stream-{:05}"}}"#, i % STREAMS);
                i += CONNECTIONS * 7919;
                let req = format!(
                    "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: Firehose_20150804.DescribeDeliveryStream\r\n\
                     Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                write.write_all(req.as_bytes()).await.unwrap();
                let mut status = String::new();
                read.read_line(&mut status).await.unwrap();
                assert!(status.starts_with("HTTP/1.1 200"), "{status}");
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    read.read_line(&mut line).await.unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                read.read_exact(&mut body).await.unwrap();
                done += 1;
            }
            done
        });
    }
    let total: u64 = clients.join_all().await.into_iter().sum();
    let rate = total as f64 / RUN.as_secs_f64();

    let t = Instant::now();
    let stats = sb.stats();
    let stats_took = t.elapsed();
    assert_eq!(stats.streams.len(), STREAMS);
    assert_eq!(stats.requests_for("DescribeDeliveryStream"), total);
    println!(
        "capacity: {rate:.0} Describe/s over {CONNECTIONS} keep-alive connections for {RUN:?} \
         ({total} requests); {STREAMS} streams ready in {ready_in:?}, RSS {rss} kB; \
         /_sandbox/stats of {STREAMS} streams in {stats_took:?}"
    );
    assert!(rate >= 5_000.0, "{rate:.0} requests/s < 5,000");
}
