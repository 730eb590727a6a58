//! Each rendering compared with what awscli 1.46's own formatters print for the same document
//! and query (`--color off`, no terminal: 80 columns).

use serde_json::Value;

use super::{table, text};

const DOC: &str = r#"{"run_id": 2, "counts": {"done": 13, "failed": 3}, "items": [{"stream": "a", "phase": "done", "attempts": 1, "enabled_at": null, "ok": true, "target": {"key_type": "AWS_OWNED_CMK", "key_arn": null}}, {"stream": "b-longer-name", "phase": "failed", "attempts": 2, "x": 0.5, "target": {"key_type": "CUSTOMER_MANAGED_CMK", "key_arn": "arn:aws:kms:us-east-1:123456789012:key/k"}}], "wall_seconds": 12.0, "tags": ["x", "y"]}"#;

fn render(format: &str, query: Option<&str>) -> String {
    let doc: Value = serde_json::from_str(DOC).unwrap();
    let selected = match query {
        Some(q) => {
            serde_json::to_value(&*jmespath::compile(q).unwrap().search(&doc).unwrap()).unwrap()
        }
        None => doc,
    };
    match format {
        "text" => text(&selected),
        _ => table("Report", &selected, 80, false),
    }
}

#[test]
fn text_of_a_report() {
    let expected = r#"2	12.0
COUNTS	13	3
ITEMS	1	None	True	done	a	
TARGET	None	AWS_OWNED_CMK
ITEMS	2			failed	b-longer-name	0.5
TARGET	arn:aws:kms:us-east-1:123456789012:key/k	CUSTOMER_MANAGED_CMK
TAGS	x
TAGS	y
"#;
    assert_eq!(render("text", None), expected);
}

#[test]
fn table_of_a_report() {
    let expected = r#"--------------------------------------------------------------------------
|                                 Report                                 |
+--------------------------+---------------------------------------------+
|          run_id          |                wall_seconds                 |
+--------------------------+---------------------------------------------+
|  2                       |  12.0                                       |
+--------------------------+---------------------------------------------+
||                                counts                                ||
|+------------------------------+---------------------------------------+|
||             done             |                failed                 ||
|+------------------------------+---------------------------------------+|
||  13                          |  3                                    ||
|+------------------------------+---------------------------------------+|
||                                 items                                ||
|+-------------+----------------+---------+----------+-----------+------+|
||  attempts   |  enabled_at    |   ok    |  phase   |  stream   |  x   ||
|+-------------+----------------+---------+----------+-----------+------+|
||  1          |  None          |  True   |  done    |  a        |      ||
|+-------------+----------------+---------+----------+-----------+------+|
|||                               target                               |||
||+--------------------------+-----------------------------------------+||
|||          key_arn         |                key_type                 |||
||+--------------------------+-----------------------------------------+||
|||  None                    |  AWS_OWNED_CMK                          |||
||+--------------------------+-----------------------------------------+||
||                                 items                                ||
|+----------+--------------+------+----------+------------------+-------+|
|| attempts | enabled_at   | ok   |  phase   |     stream       |   x   ||
|+----------+--------------+------+----------+------------------+-------+|
||  2       |              |      |  failed  |  b-longer-name   |  0.5  ||
|+----------+--------------+------+----------+------------------+-------+|
|||                               target                               |||
||+-------------------------------------------+------------------------+||
|||                  key_arn                  |       key_type         |||
||+-------------------------------------------+------------------------+||
|||  arn:aws:kms:us-east-1:123456789012:key/k |  CUSTOMER_MANAGED_CMK  |||
||+-------------------------------------------+------------------------+||
||                                 tags                                 ||
|+----------------------------------------------------------------------+|
||  x                                                                   ||
||  y                                                                   ||
|+----------------------------------------------------------------------+|
"#;
    assert_eq!(render("table", None), expected);
}

#[test]
fn table_of_a_list_of_strings() {
    let expected = r#"-------------------
|     Report      |
+-----------------+
|  a              |
|  b-longer-name  |
+-----------------+
"#;
    assert_eq!(render("table", Some("items[].stream")), expected);
}

#[test]
fn table_of_a_list_of_rows() {
    let expected = r#"-----------------------------
|          Report           |
+----------------+----------+
|  a             |  done    |
|  b-longer-name |  failed  |
+----------------+----------+
"#;
    assert_eq!(render("table", Some("items[].[stream,phase]")), expected);
}

#[test]
fn text_of_a_list_of_rows() {
    let expected = r#"a	done
b-longer-name	failed
"#;
    assert_eq!(render("text", Some("items[].[stream,phase]")), expected);
}

#[test]
fn table_of_a_scalar_is_its_title() {
    let expected = r#"--------
|Report|
+------+
"#;
    assert_eq!(render("table", Some("counts.done")), expected);
}

#[test]
fn text_of_an_object() {
    let expected = r#"13	3
"#;
    assert_eq!(render("text", Some("counts")), expected);
}

#[test]
fn floats_as_python_prints_them() {
    let expected = r#"1.5e+16	1e-05	3.0	-0.25
"#;
    assert_eq!(
        render("text", Some("[`1.5e16`, `0.00001`, `3.0`, `-0.25`]")),
        expected
    );
}

#[test]
fn table_of_an_object_with_a_nested_one() {
    let expected = r#"-------------------------------------------------------
|                       Report                        |
+----------+--------------+-------+--------+----------+
| attempts | enabled_at   |  ok   | phase  | stream   |
+----------+--------------+-------+--------+----------+
|  1       |  None        |  True |  done  |  a       |
+----------+--------------+-------+--------+----------+
||                      target                       ||
|+-------------------+-------------------------------+|
||      key_arn      |           key_type            ||
|+-------------------+-------------------------------+|
||  None             |  AWS_OWNED_CMK                ||
|+-------------------+-------------------------------+|
"#;
    assert_eq!(render("table", Some("items[0]")), expected);
}
