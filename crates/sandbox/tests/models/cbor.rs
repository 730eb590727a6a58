//! The model test's own CBOR writer for CloudWatch's RPC v2 CBOR requests (a JSON document
//! written as the smithy-rs encoder writes an input: an indefinite-length map at the top,
//! definite ones inside, whole numbers as integers, others as 64-bit floats, the members named
//! `StartTime`, `EndTime` and `Timestamp` as tag-1 timestamps), kept apart from the sandbox's so
//! that the two do not share a misreading.

use serde_json::Value;

const TIMESTAMPS: [&str; 3] = ["StartTime", "EndTime", "Timestamp"];

/// `document` as a CBOR request body.
pub fn request(document: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match document {
        Value::Object(fields) => {
            out.push(0xbf);
            for (k, v) in fields {
                text(&mut out, k);
                member(&mut out, k, v);
            }
            out.push(0xff);
        }
        other => value(&mut out, other),
    }
    out
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend([m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend((n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend((n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend(n.to_be_bytes());
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    head(out, 3, s.len() as u64);
    out.extend(s.as_bytes());
}

fn double(out: &mut Vec<u8>, f: f64) {
    out.push(0xfb);
    out.extend(f.to_bits().to_be_bytes());
}

fn member(out: &mut Vec<u8>, name: &str, v: &Value) {
    match (TIMESTAMPS.contains(&name), v.as_f64()) {
        (true, Some(seconds)) => {
            out.push(0xc1);
            double(out, seconds);
        }
        _ => value(out, v),
    }
}

fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => head(out, 0, u),
            (None, Some(i)) => head(out, 1, (-1 - i) as u64),
            _ => double(out, n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => text(out, s),
        Value::Array(items) => {
            head(out, 4, items.len() as u64);
            for item in items {
                value(out, item);
            }
        }
        Value::Object(fields) => {
            head(out, 5, fields.len() as u64);
            for (k, item) in fields {
                text(out, k);
                member(out, k, item);
            }
        }
    }
}
