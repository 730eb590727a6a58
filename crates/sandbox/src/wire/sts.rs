//! STS on the wire: the query protocol (a form-encoded `POST /`, `Action=...&Version=...`,
//! answered in XML) for the one action the sandbox serves, `GetCallerIdentity`, which the SDKs
//! send to `sts.<region>.amazonaws.com` (with `--endpoint-url` or `AWS_ENDPOINT_URL_STS`, to
//! us). The caller is the request's access key id in the sandbox's account, user `sandbox`.
//! Errors are `ErrorResponse/Error/{Type, Code, Message}`.

use crate::vocabulary::{ApiError, partition};

/// The namespace of every STS answer (STS model, `xmlNamespace`).
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The value of `name` in a form-encoded body, decoded.
pub fn form_value(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match text.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                    Some(Ok(b)) => {
                        out.push(b);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// XML text with `&`, `<`, `>`, `"` and `'` escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The `GetCallerIdentity` answer for `access_key` in `account`.
pub fn caller_identity(account: &str, region: &str, access_key: &str, request_id: &str) -> Vec<u8> {
    format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\"><GetCallerIdentityResult>\
         <UserId>{}</UserId><Account>{account}</Account>\
         <Arn>arn:{}:iam::{account}:user/sandbox</Arn>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>{request_id}</RequestId>\
         </ResponseMetadata></GetCallerIdentityResponse>",
        escape(access_key),
        partition(region),
    )
    .into_bytes()
}

/// An STS error answer's body.
pub fn error_body(err: &ApiError, request_id: &str) -> Vec<u8> {
    let kind = if err.status() >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code>\
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
    fn forms_are_decoded() {
        let body = "Action=GetCallerIdentity&Version=2011-06-15&X=a%2Bb+c%zz";
        assert_eq!(
            form_value(body, "Action").as_deref(),
            Some("GetCallerIdentity")
        );
        assert_eq!(form_value(body, "X").as_deref(), Some("a+b c%zz"));
        assert_eq!(form_value(body, "Nope"), None);
        assert_eq!(form_value("Action", "Action").as_deref(), Some(""));
    }

    #[test]
    fn answers_are_the_query_protocol_documents() {
        let body = String::from_utf8(caller_identity(
            "123456789012",
            "us-east-1",
            "AKID<&>",
            "rid",
        ))
        .unwrap();
        assert_eq!(
            body,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><UserId>AKID&lt;&amp;&gt;</UserId>\
             <Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/sandbox</Arn>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId>\
             </ResponseMetadata></GetCallerIdentityResponse>"
        );
        let err = ApiError::new("InvalidAction", "Could not find operation AssumeRole");
        assert_eq!(
            String::from_utf8(error_body(&err, "rid")).unwrap(),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>InvalidAction</Code>\
             <Message>Could not find operation AssumeRole</Message></Error>\
             <RequestId>rid</RequestId></ErrorResponse>"
        );
    }
}
