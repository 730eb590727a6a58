//! Which limit a `LimitExceededException` means (docs/design.md#two-readings-of-limitexceeded).
//! A Start meets two: the stream's 25 Start+Stop calls per rolling 24 h, and the 500 streams a
//! customer-managed key may encrypt. AWS documents the exception for both and the text of
//! neither, so the reading goes from what is certain to what is not:
//!
//! 1. A Start without a customer key cannot meet the key limit: the budget.
//! 2. Our own counts: the stream's calls in the window reached its budget — the budget; the
//!    key already protects its limit of streams without this one — the key.
//! 3. The message, with the stream's name and every ARN taken out (a stream called
//!    `kms-key-logs`, or a key ARN's `kms` and `key`, are not AWS's words), read for the words
//!    AWS uses for a key: `CMK`, `customer master key`, `customer managed key`, `KMS key`,
//!    `grant` (the API reference's "You can use a CMK of type CUSTOMER_MANAGED_CMK to encrypt up
//!    to 500 Firehose streams", the KMS terminology that renamed CMKs "KMS keys", and the grant
//!    Firehose creates per stream).
//! 4. Otherwise both stay plausible: [`Limit::Unclear`]. The caller defers the stream, keeps
//!    the message, and never marks a key full on it.

/// What a `LimitExceededException` is taken to mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The stream's Start+Stop budget.
    Budget,
    /// The customer key's limit of streams.
    Key,
    /// Either: nothing we count and nothing in the message tells them apart.
    Unclear,
}

/// What is known when a Start is refused `LimitExceededException`.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    /// The service's message, as it came.
    pub message: &'a str,
    /// The stream's name.
    pub stream: &'a str,
    /// The customer key the Start was towards (`None`: the AWS-owned key, or a Stop).
    pub key_arn: Option<&'a str>,
    /// Our own count: the stream's counted calls in the window reached its budget.
    pub budget_reached: bool,
    /// Our own count: the key protects at least its limit of streams, this one aside.
    pub key_reached: bool,
}

/// Which limit `refusal` means.
pub fn which(refusal: &Refusal<'_>) -> Limit {
    if refusal.key_arn.is_none() || refusal.budget_reached {
        return Limit::Budget;
    }
    if refusal.key_reached || names_a_key(refusal.message, refusal.stream) {
        return Limit::Key;
    }
    Limit::Unclear
}

/// Whether `message` speaks of a KMS key in AWS's words, once every ARN and the stream's name
/// `stream` are taken out of it.
pub fn names_a_key(message: &str, stream: &str) -> bool {
    let text = without_stream(&without_arns(message), stream);
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let key = |w: &str| w == "key" || w == "keys";
    words.iter().enumerate().any(|(i, w)| {
        let next = |n: usize| words.get(i + n).map(String::as_str).unwrap_or("");
        matches!(w.as_str(), "cmk" | "cmks" | "grant" | "grants")
            || (w == "kms" && key(next(1)))
            || (w == "customer" && matches!(next(1), "master" | "managed") && key(next(2)))
    })
}

/// `text` without its ARNs (`arn:` up to the next blank or quote).
fn without_arns(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("arn:") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | ')'))
            .unwrap_or(tail.len());
        out.push(' ');
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `text` without the stream name where it stands as a name of its own (not inside a longer
/// word: a stream named `a` leaves "grant" alone).
fn without_stream(text: &str, stream: &str) -> String {
    if stream.is_empty() {
        return text.to_owned();
    }
    // Characters a stream name is made of, `.` aside (it ends sentences).
    let joins =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = text[from..].find(stream) {
        let at = from + found;
        let end = at + stream.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        if joins(before) || joins(after) {
            out.push_str(&text[from..end]);
        } else {
            out.push_str(&text[from..at]);
            out.push(' ');
        }
        from = end;
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";

    fn refusal<'a>(message: &'a str, stream: &'a str) -> Refusal<'a> {
        Refusal {
            message,
            stream,
            key_arn: Some(KEY),
            budget_reached: false,
            key_reached: false,
        }
    }

    #[test]
    fn a_budget_refusal_naming_a_stream_called_monkey_logs_is_not_about_a_key() {
        // The sandbox's wording, which echoes the stream's name; "monkey" holds "key".
        let message = "Firehose monkey-logs has reached the limit of 25 \
                       StartDeliveryStreamEncryption and StopDeliveryStreamEncryption calls per \
                       Firehose stream per 1day; try again when the oldest leaves the window.";
        assert!(!names_a_key(message, "monkey-logs"));
        assert_eq!(which(&refusal(message, "monkey-logs")), Limit::Unclear);
        // With our count at the budget, it is the budget whatever the words.
        let counted = Refusal {
            budget_reached: true,
            ..refusal(message, "monkey-logs")
        };
        assert_eq!(which(&counted), Limit::Budget);
        // A stream named with AWS's own words for a key is not read as one either.
        let named = "Firehose kms-key-grant has reached the limit of calls.";
        assert!(!names_a_key(named, "kms-key-grant"));
    }

    #[test]
    fn a_key_refusal_worded_with_cmk_only_is_the_key_limit() {
        let message = "You can use a CMK of type CUSTOMER_MANAGED_CMK to encrypt up to 500 \
                       Firehose streams.";
        assert_eq!(which(&refusal(message, "orders")), Limit::Key);
        for words in [
            "Too many streams for this customer master key",
            "The KMS key is used by the maximum number of streams",
            "limit of grants reached",
            "customer managed keys may protect 500 streams",
        ] {
            assert!(names_a_key(words, "orders"), "{words}");
        }
    }

    #[test]
    fn a_refusal_worded_with_neither_is_unclear_unless_our_counts_say() {
        let message = "Limit exceeded for the requested resource.";
        assert_eq!(which(&refusal(message, "orders")), Limit::Unclear);
        // The word "key" alone, or in the key's ARN, is not AWS's word for a KMS key.
        let with_arn = format!("Limit exceeded for {KEY}.");
        assert!(!names_a_key(&with_arn, "orders"));
        assert!(!names_a_key("the key limit was exceeded", "orders"));
        let full = Refusal {
            key_reached: true,
            ..refusal(message, "orders")
        };
        assert_eq!(
            which(&full),
            Limit::Key,
            "our own count says the key is full"
        );
        let aws_owned = Refusal {
            key_arn: None,
            ..refusal("You can use a CMK ...", "orders")
        };
        assert_eq!(
            which(&aws_owned),
            Limit::Budget,
            "no key limit without a key"
        );
    }

    #[test]
    fn the_stream_name_is_taken_out_only_as_a_name_of_its_own() {
        assert!(names_a_key("stream a: a grant limit", "a"));
        assert!(names_a_key("grant limit for orders.", "orders"));
        assert!(!names_a_key("limit for CMK.", "CMK"));
        assert_eq!(without_stream("logs-2 and logs", "logs"), "logs-2 and  ");
    }
}
