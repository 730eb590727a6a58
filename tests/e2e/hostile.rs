//! Hostile endpoints: an HTTP server that answers like a broken or surprising AWS — HTML error
//! pages, truncated JSON, enum values no SDK knows, a stream whose name changed case, a Start
//! answered with a gateway error after it took effect. The binary must report each clearly,
//! never panic, and never repeat a Start whose outcome it could not see.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::*;
use serde_json::{Value, json};

/// An answer: status, content type, body.
type Answer = (u16, &'static str, String);
type Handler = dyn Fn(&str, &Value) -> Answer + Send + Sync;

/// A loopback HTTP/1.1 server whose every answer comes from `handler(target, body)`.
struct Mock {
    url: String,
    stop: Arc<AtomicBool>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Mock {
    fn start(handler: impl Fn(&str, &Value) -> Answer + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let (stop2, calls2) = (stop.clone(), calls.clone());
        listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (handler, calls) = (handler.clone(), calls2.clone());
                        std::thread::spawn(move || serve(conn, &*handler, &calls));
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                }
            }
        });
        Mock { url, stop, calls }
    }

    fn calls(&self, target: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.ends_with(target))
            .count()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(conn: TcpStream, handler: &Handler, calls: &Mutex<Vec<String>>) {
    conn.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut target = String::new();
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "x-amz-target" => target = v.trim().to_owned(),
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        calls.lock().unwrap().push(target.clone());
        let (status, kind, text) = handler(&target, &body);
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nx-amzn-RequestId: mock\r\n\r\n",
            text.len()
        );
        if conn.write_all(head.as_bytes()).is_err() || conn.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

fn ok(body: Value) -> Answer {
    (200, "application/x-amz-json-1.1", body.to_string())
}

fn describe(name: &str, kind: &str, status: &str, enc: Value) -> Value {
    json!({"DeliveryStreamDescription": {
        "DeliveryStreamName": name,
        "DeliveryStreamARN": format!("arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/{name}"),
        "DeliveryStreamStatus": status,
        "DeliveryStreamType": kind,
        "DeliveryStreamEncryptionConfiguration": enc,
        "VersionId": "1",
        "Destinations": [],
        "HasMoreDestinations": false
    }})
}

fn name_of(body: &Value) -> String {
    body["DeliveryStreamName"].as_str().unwrap_or("").to_owned()
}

/// A working directory pointed at the mock.
fn workdir(mock: &Mock) -> Workdir {
    Workdir {
        dir: tempfile::tempdir().unwrap(),
        endpoint: mock.url.clone(),
    }
}

fn assert_no_panic(run: &Run) {
    assert_ne!(run.code, Some(101), "panicked:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn an_html_error_page_is_reported_with_the_stream_and_the_status() {
    let mock = Mock::start(|_, _| {
        (
            500,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
        )
    });
    let w = workdir(&mock);
    let fleet = w.fleet("f.csv", "stream,region\norders,us-east-1\n");
    let run = w.run(&["plan", fleet.to_str().unwrap(), "-q"]);
    assert_no_panic(&run);
    run.assert_code(1);
    assert!(
        run.stderr.contains("orders") && run.stderr.contains("500"),
        "{}",
        run.stderr
    );
}

#[test]
fn truncated_json_is_reported_as_an_unreadable_answer() {
    let mock =
        Mock::start(|_, _| ok_raw(r#"{"DeliveryStreamDescription": {"DeliveryStreamName": "ord"#));
    let w = workdir(&mock);
    let fleet = w.fleet("f.csv", "stream,region\norders,us-east-1\n");
    let run = w.run(&["plan", fleet.to_str().unwrap(), "-q"]);
    assert_no_panic(&run);
    run.assert_code(1);
    assert!(
        run.stderr.contains("orders") && run.stderr.contains("unreadable"),
        "{}",
        run.stderr
    );
}

fn ok_raw(text: &str) -> Answer {
    (200, "application/x-amz-json-1.1", text.to_owned())
}

#[test]
fn enum_values_from_the_future_are_kept_verbatim_and_decided_safely() {
    let mock = Mock::start(|target, body| {
        let name = name_of(body);
        match (target.rsplit('.').next().unwrap_or(""), name.as_str()) {
            ("DescribeDeliveryStream", "future-source") => ok(describe(
                &name,
                "QuantumAsSource",
                "ACTIVE",
                json!({"Status": "DISABLED"}),
            )),
            ("DescribeDeliveryStream", "hibernating") => ok(describe(
                &name,
                "DirectPut",
                "HIBERNATING",
                json!({"Status": "DISABLED"}),
            )),
            _ => (
                400,
                "application/x-amz-json-1.1",
                json!({"__type": "ResourceNotFoundException", "message": "no"}).to_string(),
            ),
        }
    });
    let w = workdir(&mock);
    let fleet = w.fleet(
        "f.csv",
        "stream,region\nfuture-source,us-east-1\nhibernating,us-east-1\n",
    );
    let run = w.run(&["plan", fleet.to_str().unwrap(), "-q", "--output", "json"]);
    assert_no_panic(&run);
    run.assert_code(0);
    let plan = run.json();
    let items = plan["items"].as_array().unwrap();
    assert_eq!(
        (items[0]["action"].as_str(), items[0]["reason"].as_str()),
        (Some("skip"), Some("not_direct_put"))
    );
    assert_eq!(
        (items[1]["action"].as_str(), items[1]["reason"].as_str()),
        (Some("skip"), Some("not_active"))
    );
    assert_eq!(items[1]["current"]["stream_status"], "HIBERNATING");
    let source: String = w
        .sql()
        .query_row(
            "SELECT source_type FROM streams WHERE name = 'future-source'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        source, "QuantumAsSource",
        "the ledger keeps the value as sent"
    );
    assert_eq!(mock.calls("StartDeliveryStreamEncryption"), 0);
}

#[test]
fn an_answer_about_a_stream_whose_name_changed_case_is_not_taken_for_it() {
    let mock = Mock::start(|_, body| {
        let name = name_of(body).to_lowercase();
        ok(describe(
            &name,
            "DirectPut",
            "ACTIVE",
            json!({"Status": "DISABLED"}),
        ))
    });
    let w = workdir(&mock);
    let fleet = w.fleet("f.csv", "stream,region\nOrders,us-east-1\n");
    let run = w.run(&["apply", fleet.to_str().unwrap(), "--yes", "-q"]);
    assert_no_panic(&run);
    run.assert_code(1);
    assert!(run.stderr.contains("another stream"), "{}", run.stderr);
    assert_eq!(
        mock.calls("StartDeliveryStreamEncryption"),
        0,
        "nothing is started on a doubtful answer"
    );
}

#[test]
fn a_start_answered_by_a_gateway_error_is_reconciled_and_never_repeated() {
    // The Start takes effect, then the answer is lost behind a 502 page.
    let enabled = Arc::new(AtomicBool::new(false));
    let starts = Arc::new(AtomicUsize::new(0));
    let (e2, s2) = (enabled.clone(), starts.clone());
    let mock = Mock::start(move |target, body| {
        let name = name_of(body);
        match target.rsplit('.').next().unwrap_or("") {
            "StartDeliveryStreamEncryption" => {
                s2.fetch_add(1, Ordering::SeqCst);
                e2.store(true, Ordering::SeqCst);
                (502, "text/html", "<html>Bad Gateway</html>".into())
            }
            "DescribeDeliveryStream" => {
                let enc = if e2.load(Ordering::SeqCst) {
                    json!({"Status": "ENABLED", "KeyType": "AWS_OWNED_CMK"})
                } else {
                    json!({"Status": "DISABLED"})
                };
                ok(describe(&name, "DirectPut", "ACTIVE", enc))
            }
            _ => (
                400,
                "application/x-amz-json-1.1",
                json!({"__type": "UnknownOperationException"}).to_string(),
            ),
        }
    });
    let w = workdir(&mock);
    let fleet = w.fleet("f.csv", "stream,region\norders,us-east-1\n");
    let run = w.apply(&fleet, &["--first-poll", "100ms"]);
    assert_no_panic(&run);
    run.assert_code(0);
    assert_eq!(starts.load(Ordering::SeqCst), 1, "the Start was sent again");
    let state: String = w
        .sql()
        .query_row("SELECT state FROM attempts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        state, "unknown",
        "the ledger records that the outcome was not seen"
    );
}

#[test]
fn a_listing_that_says_more_follow_but_does_not_advance_is_an_error_not_a_short_count() {
    // First page: two names and "more follow"; then an empty page that still says so.
    for second in [json!([]), json!(["a", "b"])] {
        let pages = std::sync::Mutex::new(0);
        let mock = Mock::start(move |target, _| {
            if !target.ends_with("ListDeliveryStreams") {
                return (400, "application/x-amz-json-1.1", "{}".into());
            }
            let mut n = pages.lock().unwrap();
            *n += 1;
            let names = if *n == 1 {
                json!(["a", "b"])
            } else {
                second.clone()
            };
            ok(json!({"DeliveryStreamNames": names, "HasMoreDeliveryStreams": true}))
        });
        let w = workdir(&mock);
        let run = w.run(&["inventory", "--region", "us-east-1", "-q"]);
        assert_no_panic(&run);
        run.assert_code(1);
        assert!(
            run.stderr.contains("empty page") || run.stderr.contains("does not advance"),
            "{}",
            run.stderr
        );
        assert_eq!(
            mock.calls("ListDeliveryStreams"),
            2,
            "stops at the page that does not advance"
        );
        assert_eq!(
            mock.calls("DescribeDeliveryStream"),
            0,
            "no short inventory is recorded"
        );
    }
}
