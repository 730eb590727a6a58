//! CBOR (RFC 8949) as the Smithy RPC v2 CBOR protocol uses it: a request body read into the
//! JSON document the model checks (text and byte strings, integers, floats of 16, 32 and 64
//! bits, arrays and maps of definite or indefinite length; tag 1, an epoch-seconds timestamp,
//! read as its number of seconds; byte strings as base64 text), and answers written from an
//! [`Out`] (maps and arrays of definite length, every double as a 64-bit float, timestamps as
//! tag 1 around a 64-bit float of seconds, as the smithy-rs encoder writes them).

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::out::Out;

/// How deep a request's nesting may go.
const MAX_DEPTH: usize = 64;

/// A CBOR body as a JSON document (an empty body reads as `{}`).
pub fn decode(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut reader = Reader { body, at: 0 };
    let value = reader
        .item(0)?
        .ok_or("a break where a value was expected")?;
    if reader.at != body.len() {
        return Err(format!("{} bytes after the value", body.len() - reader.at));
    }
    Ok(value)
}

struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.body.get(self.at).ok_or("the body ends early")?;
        self.at += 1;
        Ok(b)
    }

    fn bytes(&mut self, n: u64) -> Result<&[u8], String> {
        let n = usize::try_from(n).map_err(|_| "a length too large")?;
        let end = self.at.checked_add(n).ok_or("a length too large")?;
        let slice = self.body.get(self.at..end).ok_or("the body ends early")?;
        self.at = end;
        Ok(slice)
    }

    /// The argument of an initial byte's additional information (`None`: indefinite).
    fn argument(&mut self, info: u8) -> Result<Option<u64>, String> {
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.bytes(2)?.try_into().expect("2"))),
            26 => u64::from(u32::from_be_bytes(self.bytes(4)?.try_into().expect("4"))),
            27 => u64::from_be_bytes(self.bytes(8)?.try_into().expect("8")),
            31 => return Ok(None),
            _ => return Err(format!("reserved additional information {info}")),
        }))
    }

    /// The next item; `None` for a break (the end of an indefinite item).
    fn item(&mut self, depth: usize) -> Result<Option<Value>, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deep".into());
        }
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        if initial == 0xff {
            return Ok(None);
        }
        let arg = self.argument(info)?;
        let definite = |arg: Option<u64>| arg.ok_or("an indefinite length where none is allowed");
        Ok(Some(match major {
            0 => Value::from(definite(arg)?),
            1 => {
                let n =
                    i64::try_from(definite(arg)?).map_err(|_| "a negative integer too large")?;
                Value::from(-1 - n)
            }
            2 | 3 => {
                let mut data = Vec::new();
                match arg {
                    Some(n) => data.extend_from_slice(self.bytes(n)?),
                    None => loop {
                        let chunk = self.byte()?;
                        if chunk == 0xff {
                            break;
                        }
                        if chunk >> 5 != major {
                            return Err("a chunk of another type in an indefinite string".into());
                        }
                        let n = definite(self.argument(chunk & 0x1f)?)?;
                        data.extend_from_slice(self.bytes(n)?);
                    },
                }
                if major == 2 {
                    Value::String(base64::engine::general_purpose::STANDARD.encode(data))
                } else {
                    Value::String(String::from_utf8(data).map_err(|_| "text that is not UTF-8")?)
                }
            }
            4 => {
                let mut items = Vec::new();
                match arg {
                    Some(n) => {
                        for _ in 0..n {
                            items.push(self.item(depth + 1)?.ok_or("a break in an array")?);
                        }
                    }
                    None => {
                        while let Some(item) = self.item(depth + 1)? {
                            items.push(item);
                        }
                    }
                }
                Value::Array(items)
            }
            5 => {
                let mut fields = Map::new();
                let mut entry = |r: &mut Self, key: Value| -> Result<(), String> {
                    let Value::String(key) = key else {
                        return Err("a map key that is not text".into());
                    };
                    let value = r.item(depth + 1)?.ok_or("a break for a map value")?;
                    fields.insert(key, value);
                    Ok(())
                };
                match arg {
                    Some(n) => {
                        for _ in 0..n {
                            let key = self.item(depth + 1)?.ok_or("a break in a map")?;
                            entry(self, key)?;
                        }
                    }
                    None => {
                        while let Some(key) = self.item(depth + 1)? {
                            entry(self, key)?;
                        }
                    }
                }
                Value::Object(fields)
            }
            // Tags: 1 (epoch seconds) is its number; others are read as their content.
            6 => self.item(depth + 1)?.ok_or("a break after a tag")?,
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                25 => float(half(definite(arg)? as u16)),
                26 => float(f64::from(f32::from_bits(definite(arg)? as u32))),
                27 => float(f64::from_bits(definite(arg)?)),
                _ => return Err(format!("simple value {info}")),
            },
        }))
    }
}

/// A float as the JSON protocols carry one: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(
        || {
            Value::String(
                if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "Infinity"
                } else {
                    "-Infinity"
                }
                .to_owned(),
            )
        },
        Value::Number,
    )
}

/// An IEEE 754 half-precision float.
fn half(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + fraction / 1024.0) * 2f64.powi(e - 15),
    }
}

/// An answer's CBOR.
pub fn encode(out: &Out) -> Vec<u8> {
    let mut buf = Vec::new();
    write(&mut buf, out);
    buf
}

fn head(buf: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => buf.push(m | n as u8),
        24..=0xff => buf.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            buf.push(m | 25);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            buf.push(m | 26);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            buf.push(m | 27);
            buf.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn text(buf: &mut Vec<u8>, s: &str) {
    head(buf, 3, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

fn double(buf: &mut Vec<u8>, f: f64) {
    buf.push(0xfb);
    buf.extend_from_slice(&f.to_bits().to_be_bytes());
}

fn write(buf: &mut Vec<u8>, out: &Out) {
    match out {
        Out::Str(s) => text(buf, s),
        Out::Int(n) if *n >= 0 => head(buf, 0, *n as u64),
        Out::Int(n) => head(buf, 1, (-1 - *n) as u64),
        Out::Double(f) => double(buf, *f),
        Out::Bool(b) => buf.push(if *b { 0xf5 } else { 0xf4 }),
        Out::Time(ms) => {
            buf.push(0xc1);
            double(buf, *ms as f64 / 1_000.0);
        }
        Out::List(items) => {
            head(buf, 4, items.len() as u64);
            for item in items {
                write(buf, item);
            }
        }
        Out::Struct(fields) => {
            head(buf, 5, fields.len() as u64);
            for (name, value) in fields {
                text(buf, name);
                write(buf, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_read_as_the_smithy_rs_encoder_writes_them() {
        // {_ "Namespace": "N", "MetricData": [{_ "MetricName": "m", "Value": 1.5,
        //   "Timestamp": 1(1800000000.0), "Counts": [-2] }] } with an indefinite map and
        // a definite array, as aws-smithy-cbor writes an input.
        let mut body = vec![0xbf];
        text(&mut body, "Namespace");
        text(&mut body, "N");
        text(&mut body, "MetricData");
        body.push(0x81);
        body.push(0xbf);
        text(&mut body, "MetricName");
        text(&mut body, "m");
        text(&mut body, "Value");
        double(&mut body, 1.5);
        text(&mut body, "Timestamp");
        body.push(0xc1);
        double(&mut body, 1_800_000_000.0);
        text(&mut body, "Counts");
        body.extend_from_slice(&[0x81, 0x21]);
        body.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(
            decode(&body).unwrap(),
            json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1.5,
                "Timestamp": 1_800_000_000.0, "Counts": [-2]}]})
        );
        assert_eq!(decode(b"").unwrap(), json!({}));
        assert_eq!(decode(&[0xbf, 0xff]).unwrap(), json!({}));
        // Half and single floats, indefinite text, byte strings, simple values.
        assert_eq!(decode(&[0xf9, 0x3c, 0x00]).unwrap(), json!(1.0));
        assert_eq!(decode(&[0xfa, 0x3f, 0xc0, 0x00, 0x00]).unwrap(), json!(1.5));
        assert_eq!(
            decode(&[0x7f, 0x61, b'a', 0x61, b'b', 0xff]).unwrap(),
            json!("ab")
        );
        assert_eq!(decode(&[0x42, 1, 2]).unwrap(), json!("AQI="));
        assert_eq!(decode(&[0xf5]).unwrap(), json!(true));
        assert_eq!(decode(&[0xf9, 0x7e, 0x00]).unwrap(), json!("NaN"));
        for bad in [
            &[0x82, 0x01][..],
            &[0xa1, 0x01, 0x02],
            &[0x01, 0x02],
            &[0x1c],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn answers_are_definite_and_doubles_are_64_bits() {
        let out = Out::Struct(vec![
            ("Id".into(), Out::Str("q".into())),
            ("Values".into(), Out::List(vec![Out::Double(2.0)])),
            (
                "Timestamps".into(),
                Out::List(vec![Out::Time(1_800_000_000_500)]),
            ),
            ("N".into(), Out::Int(-3)),
        ]);
        let bytes = encode(&out);
        assert_eq!(bytes[0], 0xa4);
        assert_eq!(
            decode(&bytes).unwrap(),
            json!({"Id": "q", "Values": [2.0], "Timestamps": [1_800_000_000.5], "N": -3})
        );
        let mut two = vec![0xfb];
        two.extend_from_slice(&2.0f64.to_bits().to_be_bytes());
        assert!(bytes.windows(9).any(|w| w == two.as_slice()));
    }
}
