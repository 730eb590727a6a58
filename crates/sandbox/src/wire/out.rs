//! An answer of a service that speaks several protocols (CloudWatch), built once as an [`Out`]
//! and written in the protocol of the request: AWS JSON (timestamps as epoch seconds), the
//! query protocol's XML (structures as elements, lists as `<member>`s, timestamps ISO 8601,
//! doubles with their fraction), or CBOR (`cbor`).

use serde_json::{Map, Value};

use super::xml::{self, Xml};
use crate::vocabulary::{Millis, iso8601_millis};

/// An answer's value, typed as the output shape types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A timestamp, epoch milliseconds.
    Time(Millis),
    List(Vec<Out>),
    /// Members in order; absent members are left out.
    Struct(Vec<(String, Out)>),
}

impl Out {
    /// A structure of the members that are present.
    pub fn fields(members: Vec<(&str, Option<Out>)>) -> Out {
        Out::Struct(
            members
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v)))
                .collect(),
        )
    }

    pub fn str(s: &str) -> Out {
        Out::Str(s.to_owned())
    }

    pub fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> Out {
        Out::List(items.into_iter().map(|s| Out::str(s)).collect())
    }

    /// A JSON document (from a request, echoed) as an answer's value: whole numbers as
    /// integers, others as doubles.
    pub fn of_json(value: &Value) -> Out {
        match value {
            Value::Null => Out::Struct(Vec::new()),
            Value::Bool(b) => Out::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Out::Double(n.as_f64().unwrap_or(0.0)), Out::Int),
            Value::String(s) => Out::Str(s.clone()),
            Value::Array(items) => Out::List(items.iter().map(Out::of_json).collect()),
            Value::Object(fields) => Out::Struct(
                fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), Out::of_json(v)))
                    .collect(),
            ),
        }
    }

    /// As AWS JSON: timestamps in epoch seconds.
    pub fn to_json(&self) -> Value {
        match self {
            Out::Str(s) => Value::String(s.clone()),
            Out::Int(n) => Value::from(*n),
            Out::Double(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Value::String(f.to_string()), Value::Number),
            Out::Bool(b) => Value::Bool(*b),
            Out::Time(ms) => Value::from(*ms as f64 / 1_000.0),
            Out::List(items) => Value::Array(items.iter().map(Out::to_json).collect()),
            Out::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// The members of a structure as the query protocol's XML, into `x`.
    pub fn write_xml(&self, x: &mut Xml) {
        if let Out::Struct(fields) = self {
            for (name, value) in fields {
                x.open(name);
                value.xml_content(x);
                x.close(name);
            }
        }
    }

    fn xml_content(&self, x: &mut Xml) {
        match self {
            Out::Str(s) => {
                x.text(s);
            }
            Out::Int(n) => {
                x.text(&n.to_string());
            }
            // `{:?}` keeps the fraction of a whole number (`5.0`).
            Out::Double(f) => {
                x.text(&format!("{f:?}"));
            }
            Out::Bool(b) => {
                x.text(if *b { "true" } else { "false" });
            }
            Out::Time(ms) => {
                x.text(&iso8601_millis(*ms));
            }
            Out::List(items) => {
                for item in items {
                    x.open("member");
                    item.xml_content(x);
                    x.close("member");
                }
            }
            Out::Struct(_) => self.write_xml(x),
        }
    }
}

/// The query protocol's answer to `op` in `namespace`: its result written from `out` (`None`:
/// an operation without output).
pub fn xml_response(op: &str, namespace: &str, request_id: &str, out: Option<&Out>) -> Vec<u8> {
    match out {
        Some(out) => xml::response(op, namespace, request_id, Some(&|x| out.write_xml(x))),
        None => xml::response(op, namespace, request_id, None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn one_answer_three_protocols() {
        let out = Out::fields(vec![
            ("Id", Some(Out::str("q"))),
            ("Absent", None),
            (
                "Timestamps",
                Some(Out::List(vec![Out::Time(1_800_000_000_000)])),
            ),
            (
                "Values",
                Some(Out::List(vec![Out::Double(5.0), Out::Double(0.5)])),
            ),
        ]);
        assert_eq!(
            out.to_json(),
            json!({"Id": "q", "Timestamps": [1_800_000_000.0], "Values": [5.0, 0.5]})
        );
        let body =
            String::from_utf8(xml_response("GetMetricData", "ns", "rid", Some(&out))).unwrap();
        assert!(
            body.contains(
                "<GetMetricDataResult><Id>q</Id><Timestamps><member>2027-01-15T08:00:00Z</member>\
                 </Timestamps><Values><member>5.0</member><member>0.5</member></Values>\
                 </GetMetricDataResult>"
            ),
            "{body}"
        );
        assert_eq!(
            Out::of_json(&json!({"Period": 60, "X": 1.5, "N": null})),
            Out::Struct(vec![
                ("Period".into(), Out::Int(60)),
                ("X".into(), Out::Double(1.5))
            ])
        );
    }
}
