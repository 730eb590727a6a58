//! A raw HTTP/1.1 client (one request per connection) that records every exchange as the
//! validator reads it: the request body as sent, the status, headers and body as answered.
//! Raw on purpose: the model test must see the bytes the sandbox wrote, not what an SDK made
//! of them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde::Serialize;

/// One request and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub label: String,
    /// `firehose`, `kms`, `sts`, `iam` or `organizations`: the model the answer is checked
    /// against.
    pub service: &'static str,
    /// The operation named by the request (`None` when it names none the model has).
    pub operation: Option<String>,
    pub request: String,
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// Sends one POST; `None` when the connection was closed without an answer.
pub fn post(
    addr: SocketAddr,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, BTreeMap<String, String>, String)> {
    let mut stream = TcpStream::connect(addr).expect("connect to the sandbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    if stream.read_to_end(&mut raw).is_err() || raw.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some((status, headers, body.to_owned()))
}
