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
    /// `firehose`, `kms`, `sts`, `iam`, `organizations` or `cloudwatch`: the model the answer
    /// is checked against.
    pub service: &'static str,
    /// CloudWatch's protocol: `query`, `json` (AWS JSON 1.0) or `cbor` (RPC v2 CBOR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<&'static str>,
    /// The operation named by the request (`None` when it names none the model has).
    pub operation: Option<String>,
    pub request: String,
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// A binary request and answer (CBOR), base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// Sends one POST to `path`; `None` when the connection was closed without an answer.
pub fn post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Option<(u16, BTreeMap<String, String>, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).expect("connect to the sandbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
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
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
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
    Some((status, headers, body))
}
