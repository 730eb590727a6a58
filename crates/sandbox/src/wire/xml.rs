//! The query protocol's XML (STS, IAM): a small writer of elements and lists (`<member>`), the
//! `<Op>Response`/`<Op>Result` envelope with its `ResponseMetadata`, the `ErrorResponse`, XML
//! escaping, and the RFC 3986 percent-encoding IAM applies to the policy documents it answers
//! with ("Policies returned by this operation are URL-encoded compliant with RFC 3986",
//! GetAccountAuthorizationDetails' API reference; the same holds for `Role`'s
//! `AssumeRolePolicyDocument`).

use crate::vocabulary::{ApiError, Millis, iso8601};

/// XML text with `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// RFC 3986 percent-encoding: every byte but the unreserved characters (`A-Z a-z 0-9 - . _ ~`)
/// as `%XX`, upper-case hex.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An XML document being written.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
}

impl Xml {
    /// `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `</tag>`.
    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// Text, escaped.
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    /// `<tag>text</tag>`, the text escaped.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        self.out.push_str(&escape(text));
        self.close(tag)
    }

    /// A leaf when there is a value.
    pub fn maybe(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(tag, text);
        }
        self
    }

    /// A timestamp, ISO 8601.
    pub fn time(&mut self, tag: &str, at: Millis) -> &mut Self {
        self.leaf(tag, &iso8601(at))
    }

    /// A list: `<tag><member>...</member>...</tag>`, each member written by `write`.
    pub fn list<T>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = T>,
        mut write: impl FnMut(&mut Xml, T),
    ) -> &mut Self {
        self.open(tag);
        for item in items {
            self.open("member");
            write(self, item);
            self.close("member");
        }
        self.close(tag)
    }

    /// A list of strings.
    pub fn strings<'a>(
        &mut self,
        tag: &str,
        items: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        self.list(tag, items, |x, s| {
            x.out.push_str(&escape(s));
        })
    }
}

/// The answer to `op`: `<opResponse xmlns=namespace><opResult>...</opResult>
/// <ResponseMetadata>...` (no result element when `result` is `None`: an operation without
/// output).
pub fn response(
    op: &str,
    namespace: &str,
    request_id: &str,
    result: Option<&dyn Fn(&mut Xml)>,
) -> Vec<u8> {
    let mut x = Xml::default();
    x.out
        .push_str(&format!("<{op}Response xmlns=\"{namespace}\">"));
    if let Some(write) = result {
        let tag = format!("{op}Result");
        x.open(&tag);
        write(&mut x);
        x.close(&tag);
    }
    x.open("ResponseMetadata")
        .leaf("RequestId", request_id)
        .close("ResponseMetadata")
        .close(&format!("{op}Response"));
    x.out.into_bytes()
}

/// The query protocol's error answer.
pub fn error_body(namespace: &str, err: &ApiError, request_id: &str) -> Vec<u8> {
    let kind = if err.status() >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        escape(&err.code),
        escape(&err.message),
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_percent_encoded_as_rfc_3986_says() {
        assert_eq!(
            url_encode("{\"Version\": \"2012-10-17\", \"A\": \"x~y_z.*\"}\n"),
            "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22A%22%3A%20%22x~y_z.%2A%22%7D%0A"
        );
        assert_eq!(url_encode("é"), "%C3%A9");
    }

    #[test]
    fn envelopes() {
        let body = response(
            "CreateUser",
            "ns",
            "rid",
            Some(&|x: &mut Xml| {
                x.open("User").leaf("UserName", "a<b").close("User");
                x.strings("GroupList", ["g1", "g2"]);
            }),
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<CreateUserResponse xmlns=\"ns\"><CreateUserResult><User><UserName>a&lt;b</UserName>\
             </User><GroupList><member>g1</member><member>g2</member></GroupList>\
             </CreateUserResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>\
             </CreateUserResponse>"
        );
        assert_eq!(
            String::from_utf8(response("AttachUserPolicy", "ns", "rid", None)).unwrap(),
            "<AttachUserPolicyResponse xmlns=\"ns\"><ResponseMetadata><RequestId>rid</RequestId>\
             </ResponseMetadata></AttachUserPolicyResponse>"
        );
    }
}
