"""Checks every answer the sandbox gave against botocore's published service models.

Input: a JSON file of exchanges ({label, service, operation, request, status, headers, body}),
written by the Rust side of the model test. Output: one line per deviation, `DEVIATION <label>:
<what>`, then `CHECKED <n> answers, <m> deviations`. Exit status 0 whatever was found (the Rust
side asserts), 2 when this script cannot run.

What is checked:
- a request that breaks the operation's input model (required members, types, enums, lengths,
  patterns, ranges) must be refused as AWS refuses it: SerializationException for a value of the
  wrong JSON type, ValidationException ("N validation error(s) detected: ...", naming each
  member path) for the rest; a request that keeps the model must not get either;
- a 200 answer must be the operation's output shape: no unknown members, every required
  member, the right JSON types, enum values, lengths, patterns and ranges, recursively;
- an error answer must be HTTP 400 (500/503 for server faults, 403 for
  ExpiredTokenException), carry x-amzn-ErrorType equal to its `__type`, name an error the
  operation lists or a common one, carry a message string, and its other members must be
  members of the error shape;
- Organizations words a broken constraint as its modeled InvalidInputException (its
  InvalidInputExceptionReason lists MAX_VALUE_EXCEEDED, MIN_VALUE_EXCEEDED, INVALID_PATTERN,
  INPUT_REQUIRED, ...) rather than ValidationException, with the same message;
- STS and IAM answers must be the query protocol's XML in the service's namespace:
  <Op>Response / <Op>Result with the output shape's members (nested structures, lists of
  <member>, timestamps in ISO 8601; an operation without output answers <Op>Response with its
  ResponseMetadata only), or ErrorResponse / Error with Type, Code and Message, the code one the
  operation lists or a common one of the query protocol, HTTP 403 for AccessDenied and the
  credential errors, the modeled status for the modeled ones (IAM's NoSuchEntity 404,
  EntityAlreadyExists 409, ...), 400 otherwise; a form that breaks the operation's input model
  must be refused as STS and IAM refuse it: ValidationError ("N validation error(s) detected:
  ...") for a constraint, MalformedInput for a value not of its type;
- IAM's policy documents (shape policyDocumentType in its answers) must be JSON percent-encoded
  as RFC 3986 says ("Policies returned by this operation are URL-encoded compliant with RFC
  3986", GetAccountAuthorizationDetails' API reference): nothing but unreserved characters and
  %XX, decoding to a JSON object;
- a blob is base64 (else SerializationException) and its length constraints are of the bytes
  it decodes to;
- every answer carries x-amzn-RequestId;
- CloudWatch's answers in each of the three protocols its model lists, as the request was
  sent: the query protocol's XML as for IAM (doubles as decimal text); AWS JSON 1.0
  (content-type application/x-amz-json-1.0, timestamps epoch seconds); Smithy RPC v2 CBOR
  (decoded with botocore's own CBOR parser: header smithy-protocol: rpc-v2-cbor, content-type
  application/cbor unless an operation without output answers an empty body, timestamps as tag
  1, doubles as CBOR floats, integers as CBOR integers); a JSON or CBOR error names in __type an
  error shape the operation lists (its shape name, after the '#') or a common error, and a
  modeled one carries x-amzn-query-error "<its error code>;Sender" and the shape's HTTP status
  (the model's awsQueryCompatible trait); its requests are held to the input model as the JSON
  services' are (SerializationException for a wrong type; ValidationException for a broken
  constraint, whose x-amzn-query-error code is ValidationError).

botocore's own validator checks inputs as Python values; the output walk here is our own, over
botocore.model shapes (the same shapes botocore parses answers with).
"""

import base64
import json
import math
import sys
import xml.etree.ElementTree as ET
from urllib.parse import unquote, unquote_plus

import regex
from botocore.parsers import RpcV2CBORParser
from botocore.session import get_session

COMMON_ERRORS = {
    # AWS's "Common Errors" of every JSON service, as they appear on the wire.
    "AccessDeniedException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationException",
    # The JSON 1.1 protocol's own.
    "SerializationException",
    "UnknownOperationException",
    "ExpiredTokenException",
    "UnrecognizedClientException",
}
SERVER_FAULTS = {"InternalFailure": 500, "ServiceUnavailable": 503}
# Common errors of the JSON services that are not 400, as AWS's Common Errors pages list them
# (e.g. https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html:
# "ExpiredTokenException ... HTTP status code: 403"). Firehose's, KMS's and Organizations'
# models do not list it, and moto does not answer it.
JSON_COMMON_STATUS = {"ExpiredTokenException": 403}
# The query protocol's common errors (STS) and their statuses: the credential errors and
# AccessDenied are 403 (an expired token on STS: "StatusCode: 403 ... api error ExpiredToken",
# pulumi/pulumi-aws#2560; AssumeRole denied: "403 Forbidden ... Sender AccessDenied",
# amzn/selling-partner-api-models#2523), the rest 400 (ValidationError "status code: 400",
# kreuzwerker/awsu#27).
QUERY_COMMON_ERRORS = {
    "AccessDenied": 403,
    "ExpiredToken": 403,
    "MissingAuthenticationToken": 403,
    "InvalidClientTokenId": 403,
    "SignatureDoesNotMatch": 403,
    "IncompleteSignature": 400,
    "InvalidAction": 400,
    "MalformedInput": 400,
    "ValidationError": 400,
    "Throttling": 400,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
}
# Services that word a broken input constraint as their own modeled exception.
CONSTRAINT_ERROR = {"organizations": "InvalidInputException"}
# CloudWatch's query protocol's common errors beside QUERY_COMMON_ERRORS, as its API
# reference's Common Errors list them (all HTTP 400).
CLOUDWATCH_QUERY_COMMON = {"InvalidParameterValue": 400, "InvalidParameterCombination": 400, "MissingParameter": 400}
# Common errors of a JSON or CBOR CloudWatch answer and the x-amzn-query-error code each
# carries (None: none, a protocol-level error).
CLOUDWATCH_JSON_COMMON = {
    "ValidationException": "ValidationError",
    "SerializationException": None,
    "UnknownOperationException": None,
    "ExpiredTokenException": None,
    "InternalFailure": None,
    "ThrottlingException": None,
}


class Ts(float):
    """A CBOR tag-1 timestamp, as botocore's CBOR parser hands it over."""


def cbor_decode(data):
    parser = RpcV2CBORParser(timestamp_parser=Ts)
    stream = parser.get_peekable_stream_from_bytes(data)
    value = parser.parse_data_item(stream)
    if stream.read(1):
        raise ValueError("bytes after the CBOR data item")
    return value

deviations = []


def deviation(label, what):
    deviations.append(f"DEVIATION {label}: {what}")


def camel(name):
    return name[:1].lower() + name[1:]


_patterns = {}


def pattern_matches(pattern, text):
    compiled = _patterns.get(pattern)
    if compiled is None:
        compiled = _patterns[pattern] = regex.compile(pattern, regex.ASCII)  # Java: \\w, \\d, \\s are ASCII
    # AWS matches a member's whole value against its pattern.
    return compiled.fullmatch(text) is not None


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and not (
        isinstance(v, float) and (math.isnan(v) or math.isinf(v))
    )


# ----------------------------------------------------------------------------- shapes


def walk(shape, value, path, out, *, output, cbor=False):
    """Appends (kind, path, what) for each way `value` breaks `shape`: kind "type" for a wrong
    JSON type, "constraint" for the rest, "unknown" for a member the shape does not have
    (outputs only: inputs ignore unknown members, as AWS does)."""
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        if not isinstance(value, dict):
            out.append(("type", path, f"expected a structure (JSON object), got {json.dumps(value)[:80]}"))
            return
        for name, v in value.items():
            if v is None:
                if output:
                    out.append(("constraint", path + [name], "member is null"))
                continue
            member = shape.members.get(name)
            if member is None:
                if output:
                    out.append(("unknown", path + [name], "not a member of " + shape.name))
                continue
            walk(member, v, path + [name], out, output=output, cbor=cbor)
        for name in shape.required_members:
            if value.get(name) is None:
                out.append(("required", path + [name], f"required member {name} of {shape.name} is missing"))
    elif t == "list":
        if not isinstance(value, list):
            out.append(("type", path, f"expected a list, got {json.dumps(value)[:80]}"))
            return
        bounds(meta, len(value), path, out, "length")
        for i, v in enumerate(value):
            if v is None:
                out.append(("constraint", path + [i], "list element is null"))
                continue
            walk(shape.member, v, path + [i], out, output=output, cbor=cbor)
    elif t == "map":
        if not isinstance(value, dict):
            out.append(("type", path, f"expected a map, got {json.dumps(value)[:80]}"))
            return
        bounds(meta, len(value), path, out, "length")
        for k, v in value.items():
            walk(shape.key, k, path + [k], out, output=output, cbor=cbor)
            if v is not None:
                walk(shape.value, v, path + [k], out, output=output, cbor=cbor)
    elif t == "string":
        if not isinstance(value, str):
            out.append(("type", path, f"expected a string, got {json.dumps(value)[:80]}"))
            return
        if shape.enum and value not in shape.enum:
            out.append(("constraint", path, f"{value!r} is not one of the enum {shape.name}"))
        bounds(meta, len(value), path, out, "length")
        if "pattern" in meta and not pattern_matches(meta["pattern"], value):
            out.append(("constraint", path, f"{value!r} does not match pattern {meta['pattern']}"))
    elif t in ("integer", "long"):
        if not is_int(value):
            out.append(("type", path, f"expected an integer, got {json.dumps(value)[:80]}"))
            return
        bounds(meta, value, path, out, "value")
    elif t in ("double", "float") and cbor and output:
        # A CBOR decoder reading a double wants a CBOR float (smithy-rs: decoder.double()).
        if type(value) is not float:
            out.append(("type", path, f"expected a CBOR float, got {value!r:.80}"))
    elif t in ("double", "float"):
        if not is_number(value):
            out.append(("type", path, f"expected a number, got {json.dumps(value)[:80]}"))
            return
        bounds(meta, value, path, out, "value")
    elif t == "boolean":
        if not isinstance(value, bool):
            out.append(("type", path, f"expected a boolean, got {json.dumps(value)[:80]}"))
    elif t == "timestamp" and cbor:
        if not isinstance(value, Ts):
            out.append(("type", path, f"expected a CBOR tag-1 timestamp, got {value!r:.80}"))
    elif t == "timestamp":
        # JSON 1.1 timestamps are epoch seconds.
        if not is_number(value):
            out.append(("type", path, f"expected a timestamp (epoch seconds), got {json.dumps(value)[:80]}"))
    elif t == "blob":
        if not isinstance(value, str):
            out.append(("type", path, f"expected a blob (base64 string), got {json.dumps(value)[:80]}"))
            return
        try:
            decoded = base64.b64decode(value, validate=True)
        except Exception:
            out.append(("type", path, "blob is not base64"))
            return
        bounds(meta, len(decoded), path, out, "length")
    else:
        out.append(("type", path, f"unhandled shape type {t}"))


def bounds(meta, n, path, out, what):
    if "min" in meta and n < meta["min"]:
        out.append(("constraint", path, f"{what} {n} is below the minimum {meta['min']}"))
    if "max" in meta and n > meta["max"]:
        out.append(("constraint", path, f"{what} {n} is above the maximum {meta['max']}"))


def wire_path(path):
    """A member path as AWS's validation messages spell it: camelCase members joined by '.',
    list elements as `<n>.member` (1-based)."""
    parts = []
    for p in path:
        if isinstance(p, int):
            parts.append(f"{p + 1}.member")
        else:
            parts.append(camel(p))
    return ".".join(parts)


def show(path):
    return ".".join(str(p) for p in path) or "<top>"


# ----------------------------------------------------------------------------- JSON services


def error_code(ex):
    body = ex["body_json"]
    code = body.get("__type") if isinstance(body, dict) else None
    if isinstance(code, str):
        code = code.split(":")[0].split("#")[-1]
    return code


def check_json(ex, model):
    label = ex["label"]
    constraint_error = CONSTRAINT_ERROR.get(ex["service"], "ValidationException")
    headers = ex["headers"]
    status = ex["status"]
    if "x-amzn-requestid" not in headers:
        deviation(label, "no x-amzn-RequestId header")
    try:
        ex["body_json"] = json.loads(ex["body"]) if ex["body"] else {}
    except ValueError:
        deviation(label, f"HTTP {status} body is not JSON: {ex['body'][:120]!r}")
        return
    op = model.operation_model(ex["operation"]) if ex.get("operation") in model.operation_names else None

    # What the input model says of the request.
    expected = None
    if op is not None:
        try:
            request = json.loads(ex["request"]) if ex["request"].strip() else {}
        except ValueError:
            request = None
        if not isinstance(request, dict):
            expected = ("SerializationException", [])
        elif op.input_shape is not None:
            found = []
            walk(op.input_shape, request, [], found, output=False)
            if any(kind == "type" for kind, _, _ in found):
                expected = ("SerializationException", [])
            elif found:
                expected = (constraint_error, found)

    if status == 200:
        if expected is not None:
            deviation(label, f"accepted a request the input model refuses (expected {expected[0]}: "
                      + "; ".join(f"{show(p)}: {w}" for _, p, w in expected[1]) + ")")
        if op is None:
            deviation(label, "HTTP 200 for an operation the model does not have")
            return
        if headers.get("content-type") not in ("application/x-amz-json-1.1", "application/json"):
            deviation(label, f"content-type {headers.get('content-type')!r}")
        body = ex["body_json"]
        if op.output_shape is None:
            if body not in ({}, None):
                deviation(label, f"operation has no output, answer is {ex['body'][:120]}")
            return
        found = []
        walk(op.output_shape, body, [], found, output=True)
        for kind, path, what in found:
            deviation(label, f"output {show(path)}: {what}")
        return

    # An error.
    code = error_code(ex)
    body = ex["body_json"]
    if not isinstance(code, str):
        deviation(label, f"HTTP {status} without a __type: {ex['body'][:120]}")
        return
    header = headers.get("x-amzn-errortype")
    if header is None or header.split(":")[0] != code:
        deviation(label, f"x-amzn-ErrorType {header!r} is not the body's __type {code!r}")
    message = body.get("message", body.get("Message"))
    if not isinstance(message, str) or not message:
        deviation(label, f"{code} without a message string")
    listed = {e.name: e for e in op.error_shapes} if op is not None else {}
    if op is None:
        if code not in ("UnknownOperationException",) and code not in COMMON_ERRORS:
            deviation(label, f"unknown operation answered {code}")
    elif code not in listed and code not in COMMON_ERRORS:
        deviation(label, f"{code} is neither an error {op.name} lists ({', '.join(sorted(listed))}) nor a common error")
    # The status: 400, but server faults and the common errors listed otherwise.
    want = SERVER_FAULTS.get(code, JSON_COMMON_STATUS.get(code))
    shape = listed.get(code)
    if shape is not None and (shape.metadata.get("fault") or shape._shape_model.get("fault")):
        if status < 500:
            deviation(label, f"{code} is a server fault in the model, answered HTTP {status}")
    elif want is not None:
        if status != want:
            deviation(label, f"{code} answered HTTP {status}, expected {want}")
    elif status != 400:
        deviation(label, f"{code} answered HTTP {status}, expected 400")
    # The members of a modeled error.
    if shape is not None:
        for name, v in body.items():
            if name in ("__type", "message", "Message"):
                continue
            member = shape.members.get(name)
            if member is None:
                deviation(label, f"{code} has member {name}, not in the model")
                continue
            found = []
            walk(member, v, [name], found, output=True)
            for _, path, what in found:
                deviation(label, f"{code} {show(path)}: {what}")
    # What the request deserved.
    if code == "UnknownOperationException":
        expected = None  # the sandbox does not serve it: what its input deserves does not arise
    if expected is not None and code != expected[0]:
        deviation(label, f"answered {code} to a request the input model refuses with {expected[0]}: "
                  + "; ".join(f"{show(p)}: {w}" for _, p, w in expected[1]))
    # A ValidationException may also carry a rule the model cannot express (KMS: an asymmetric
    # key needs a KeyUsage), but then it must not claim a constraint of the model.
    claims_model = isinstance(message, str) and " validation error" in message and " detected: " in message
    if expected is None and op is not None and (code == "SerializationException" or (code == constraint_error and claims_model)):
        deviation(label, f"answered {code} ({message}) to a request that keeps the input model")
    if expected is not None and expected[0] == constraint_error and code == constraint_error:
        check_validation_message(label, message or "", expected[1])


def check_validation_message(label, message, found):
    n = len(found)
    head = f"{n} validation error{'s' if n != 1 else ''} detected: "
    if not message.startswith(head):
        deviation(label, f"ValidationException message should start {head!r}: {message!r}")
    for _, path, what in found:
        at = f"at '{wire_path(path)}' failed to satisfy constraint: Member must"
        if at not in message:
            deviation(label, f"ValidationException message does not name {at!r} ({what}): {message!r}")


# ----------------------------------------------------------------------------- STS and IAM (query/XML)


def form_document(shape, params, key, malformed):
    """The value of `shape` at form parameter `key` ("" for the input), as the query protocol
    serializes it (nested members joined with '.', list elements `<key>.member.<n>`); None
    when the form has nothing for it. A number or boolean that does not parse is appended to
    `malformed` and kept as its text."""
    t = shape.type_name
    join = (lambda m: m) if not key else (lambda m: f"{key}.{m}")
    if t == "structure":
        fields = {}
        for name, member in shape.members.items():
            v = form_document(member, params, join(name), malformed)
            if v is not None:
                fields[name] = v
        return fields if (not key or fields) else None
    if t == "list":
        items = []
        while True:
            v = form_document(shape.member, params, join(f"member.{len(items) + 1}"), malformed)
            if v is None:
                break
            items.append(v)
        return items if (items or params.get(key) == "") else None
    if key not in params:
        return None
    text = params[key]
    try:
        if t in ("integer", "long"):
            return int(text)
        if t in ("double", "float"):
            return float(text)
        if t == "boolean":
            return {"true": True, "false": False}[text]
        if t == "timestamp":
            # The query protocol's timestamps are ISO 8601 (botocore's QuerySerializer).
            from datetime import datetime
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError):
        malformed.append(key)
    return text


def xml_value(shape, el, path, out, ns):
    """Walks XML element `el` against output `shape` (the query protocol's XML: structure
    members as child elements, list elements as <member>, scalars as text)."""
    t = shape.type_name
    if t == "structure":
        seen = set()
        for child in el:
            name = child.tag[len(ns):] if child.tag.startswith(ns) else child.tag
            member = shape.members.get(name)
            if member is None:
                out.append(("unknown", path + [name], "not a member of " + shape.name))
                continue
            seen.add(name)
            xml_value(member, child, path + [name], out, ns)
        for name in shape.required_members:
            if name not in seen:
                out.append(("required", path + [name], f"required member {name} of {shape.name} is missing"))
    elif t == "list":
        items = list(el)
        bounds(shape.metadata, len(items), path, out, "length")
        for i, child in enumerate(items):
            xml_value(shape.member, child, path + [i], out, ns)
    elif t == "timestamp":
        text = el.text or ""
        if not regex.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", text):
            out.append(("type", path, f"timestamp {text!r} is not ISO 8601"))
    elif t in ("integer", "long"):
        try:
            value = int(el.text or "")
        except ValueError:
            out.append(("type", path, f"expected an integer, got {el.text!r}"))
            return
        bounds(shape.metadata, value, path, out, "value")
    elif t == "boolean":
        if (el.text or "") not in ("true", "false"):
            out.append(("type", path, f"expected a boolean, got {el.text!r}"))
    elif t in ("double", "float"):
        try:
            float(el.text or "")
        except ValueError:
            out.append(("type", path, f"expected a number, got {el.text!r}"))
    else:
        walk(shape, el.text or "", path, out, output=True)
        if shape.name == "policyDocumentType":
            policy_document(el.text or "", path, out)


UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%")


def policy_document(text, path, out):
    """An IAM policy document as IAM answers with one: RFC 3986 percent-encoded JSON."""
    if any(c not in UNRESERVED for c in text):
        out.append(("constraint", path, f"policy document is not percent-encoded: {text[:60]!r}"))
        return
    try:
        document = json.loads(unquote(text))
    except ValueError:
        out.append(("constraint", path, f"policy document does not decode to JSON: {text[:60]!r}"))
        return
    if not isinstance(document, dict):
        out.append(("constraint", path, "policy document is not a JSON object"))


def check_query(ex, model):
    label = ex["label"]
    status = ex["status"]
    if "x-amzn-requestid" not in ex["headers"]:
        deviation(label, "no x-amzn-RequestId header")
    try:
        root = ET.fromstring(ex["body"])
    except ET.ParseError as e:
        deviation(label, f"HTTP {status} body is not XML ({e}): {ex['body'][:120]!r}")
        return
    ns = "{" + model.metadata["xmlNamespace"] + "}"
    op = model.operation_model(ex["operation"]) if ex.get("operation") in model.operation_names else None

    # What the input model says of the form.
    expected = None
    if op is not None and op.input_shape is not None:
        params = {}
        for pair in ex["request"].split("&"):
            if pair:
                k, _, v = pair.partition("=")
                params.setdefault(unquote_plus(k), unquote_plus(v))
        malformed = []
        document = form_document(op.input_shape, params, "", malformed)
        found = []
        if malformed:
            expected = ("MalformedInput", [])
        else:
            walk(op.input_shape, document, [], found, output=False)
            if found:
                expected = ("ValidationError", found)

    if status == 200:
        if expected is not None:
            deviation(label, f"accepted a request the input model refuses (expected {expected[0]}: "
                      + "; ".join(f"{show(p)}: {w}" for _, p, w in expected[1]) + ")")
        if op is None:
            deviation(label, "HTTP 200 for an action the model does not have")
            return
        want = ns + op.name + "Response"
        if root.tag != want:
            deviation(label, f"root {root.tag}, expected {want}")
            return
        children = list(root)
        if op.output_shape is None:
            if [c.tag for c in children] != [ns + "ResponseMetadata"]:
                deviation(label, f"an operation without output answers more than its ResponseMetadata: {[c.tag for c in children]}")
            return
        result_tag = ns + op.output_shape.serialization.get("resultWrapper", op.name + "Result")
        if not children or children[0].tag != result_tag:
            deviation(label, f"first child is not {result_tag}")
            return
        found = []
        xml_value(op.output_shape, children[0], [], found, ns)
        for kind, path, what in found:
            deviation(label, f"output {show(path)}: {what}")
        return
    if root.tag != ns + "ErrorResponse":
        deviation(label, f"error root {root.tag}, expected {ns}ErrorResponse")
        return
    error = root.find(ns + "Error")
    if error is None:
        deviation(label, "ErrorResponse without Error")
        return
    for part in ("Type", "Code", "Message"):
        el = error.find(ns + part)
        if el is None or not (el.text or "").strip():
            deviation(label, f"Error without {part}")
    if root.find(ns + "RequestId") is None:
        deviation(label, "ErrorResponse without RequestId")
    code = (error.findtext(ns + "Code") or "").strip()
    message = error.findtext(ns + "Message") or ""
    listed = {}
    if op is not None:
        for shape in op.error_shapes:
            listed[shape.error_code] = shape.metadata.get("error", {}).get("httpStatusCode", 400)
    common = dict(QUERY_COMMON_ERRORS)
    if ex["service"] == "cloudwatch":
        common.update(CLOUDWATCH_QUERY_COMMON)
    if code in listed:
        want = listed[code]
    elif code in common:
        want = common[code]
    else:
        deviation(label, f"{code} is neither an error the action lists ({', '.join(sorted(listed))}) nor a common one")
        want = None
    if want is not None and status != want:
        deviation(label, f"{code} answered HTTP {status}, expected {want}")
    kind = (error.findtext(ns + "Type") or "").strip()
    if kind != ("Receiver" if status >= 500 else "Sender"):
        deviation(label, f"Error Type {kind!r} for HTTP {status}")
    if code == "InvalidAction":
        expected = None  # an action not served: what its input deserves does not arise
    claims_model = " validation error" in message and " detected: " in message
    if expected is not None and code != expected[0] and code not in ("ExpiredToken", "MissingAuthenticationToken"):
        deviation(label, f"answered {code} to a request the input model refuses with {expected[0]}: "
                  + "; ".join(f"{show(p)}: {w}" for _, p, w in expected[1]))
    if expected is None and op is not None and (code == "MalformedInput" or (code == "ValidationError" and claims_model)):
        deviation(label, f"answered {code} ({message}) to a request that keeps the input model")
    if expected is not None and expected[0] == "ValidationError" and code == "ValidationError":
        check_validation_message(label, message, expected[1])


# ----------------------------------------------------------------------------- CloudWatch (JSON 1.0, CBOR)


def check_cloudwatch(ex, model, protocol):
    """A CloudWatch answer in AWS JSON 1.0 or Smithy RPC v2 CBOR (awsQueryCompatible)."""
    label = ex["label"]
    headers = ex["headers"]
    status = ex["status"]
    cbor = protocol == "cbor"
    if "x-amzn-requestid" not in headers:
        deviation(label, "no x-amzn-RequestId header")
    request_bytes = base64.b64decode(ex["request_base64"]) if cbor else ex["request"].encode()
    body_bytes = base64.b64decode(ex["body_base64"]) if cbor else ex["body"].encode()
    if cbor and headers.get("smithy-protocol") != "rpc-v2-cbor":
        deviation(label, f"smithy-protocol {headers.get('smithy-protocol')!r}")
    try:
        if cbor:
            body = cbor_decode(body_bytes) if body_bytes else None
        else:
            body = json.loads(body_bytes) if body_bytes else None
    except Exception as e:
        deviation(label, f"HTTP {status} body does not decode ({e!r})")
        return
    op = model.operation_model(ex["operation"]) if ex.get("operation") in model.operation_names else None

    expected = None
    if op is not None and op.input_shape is not None:
        try:
            if cbor:
                request = cbor_decode(request_bytes) if request_bytes else {}
            else:
                request = json.loads(request_bytes) if request_bytes.strip() else {}
        except Exception:
            request = None
        if not isinstance(request, dict):
            expected = ("SerializationException", [])
        else:
            found = []
            walk(op.input_shape, request, [], found, output=False)
            if any(kind == "type" for kind, _, _ in found):
                expected = ("SerializationException", [])
            elif found:
                expected = ("ValidationException", found)

    if status == 200:
        if expected is not None:
            deviation(label, f"accepted a request the input model refuses (expected {expected[0]}: "
                      + "; ".join(f"{show(p)}: {w}" for _, p, w in expected[1]) + ")")
        if op is None:
            deviation(label, "HTTP 200 for an operation the model does not have")
            return
        content_type = headers.get("content-type")
        if op.output_shape is None:
            if cbor:
                if body_bytes or content_type is not None:
                    deviation(label, f"no output: answered {len(body_bytes)} bytes, content-type {content_type!r} (Smithy: an empty body without Content-Type)")
            elif body not in ({}, None):
                deviation(label, f"operation has no output, answer is {body!r:.120}")
            return
        want = "application/cbor" if cbor else "application/x-amz-json-1.0"
        if content_type != want:
            deviation(label, f"content-type {content_type!r}, expected {want}")
        if not isinstance(body, dict):
            deviation(label, f"the answer is not a map: {body!r:.120}")
            return
        found = []
        walk(op.output_shape, body, [], found, output=True, cbor=cbor)
        for kind, path, what in found:
            deviation(label, f"output {show(path)}: {what}")
        return

    if not isinstance(body, dict) or not isinstance(body.get("__type"), str):
        deviation(label, f"HTTP {status} without a __type: {body!r:.120}")
        return
    kind = body["__type"].split(":")[0].split("#")[-1]
    message = body.get("message", body.get("Message"))
    if not isinstance(message, str) or not message:
        deviation(label, f"{kind} without a message string")
    listed = {e.name: e for e in op.error_shapes} if op is not None else {}
    query_error = headers.get("x-amzn-query-error")
    shape = listed.get(kind)
    if shape is not None:
        code = shape.error_code
        fault = "Receiver" if shape.metadata.get("fault") else "Sender"
        if query_error != f"{code};{fault}":
            deviation(label, f"x-amzn-query-error {query_error!r}, expected {code};{fault}")
        want = shape.metadata.get("error", {}).get("httpStatusCode", 400)
        if status != want:
            deviation(label, f"{kind} answered HTTP {status}, expected {want}")
        for name in body:
            if name not in ("__type", "message", "Message") and name not in shape.members:
                deviation(label, f"{kind} has member {name}, not in the model")
        code_seen = code
    elif kind in CLOUDWATCH_JSON_COMMON:
        header_code = CLOUDWATCH_JSON_COMMON[kind]
        want_header = None if header_code is None else f"{header_code};Sender"
        if query_error != want_header:
            deviation(label, f"x-amzn-query-error {query_error!r}, expected {want_header!r}")
        want = {"ExpiredTokenException": 403, "InternalFailure": 500}.get(kind, 400)
        if status != want:
            deviation(label, f"{kind} answered HTTP {status}, expected {want}")
        code_seen = header_code or kind
    elif query_error and query_error.split(";")[0] in CLOUDWATCH_QUERY_COMMON:
        # A common error of the query protocol, carried by its code.
        code_seen = query_error.split(";")[0]
        if status != 400:
            deviation(label, f"{kind} answered HTTP {status}, expected 400")
    else:
        deviation(label, f"{kind} is neither an error {ex.get('operation')} lists ({', '.join(sorted(listed))}) nor a common one")
        return
    if kind == "UnknownOperationException":
        expected = None
    if expected is not None and kind != expected[0] and kind != "ExpiredTokenException":
        deviation(label, f"answered {kind} to a request the input model refuses with {expected[0]}: "
                  + "; ".join(f"{show(p)}: {w}" for _, p, w in expected[1]))
    claims_model = isinstance(message, str) and " validation error" in message and " detected: " in message
    if expected is None and op is not None and (kind == "SerializationException" or (kind == "ValidationException" and claims_model)):
        deviation(label, f"answered {kind} ({message}) to a request that keeps the input model")
    if expected is not None and expected[0] == "ValidationException" and kind == "ValidationException":
        check_validation_message(label, message or "", expected[1])
    del code_seen


# ----------------------------------------------------------------------------- main


def main():
    exchanges = json.load(open(sys.argv[1]))
    session = get_session()
    models = {name: session.get_service_model(name) for name in ("firehose", "kms", "sts", "organizations", "iam", "cloudwatch", "kinesis", "resourcegroupstaggingapi")}
    for ex in exchanges:
        ex["headers"] = {k.lower(): v for k, v in ex["headers"].items()}
        service = ex["service"]
        if service == "cloudwatch" and ex.get("protocol") in ("json", "cbor"):
            check_cloudwatch(ex, models[service], ex["protocol"])
        elif service in ("sts", "iam", "cloudwatch"):
            check_query(ex, models[service])
        else:
            check_json(ex, models[service])
    for line in deviations:
        print(line)
    print(f"CHECKED {len(exchanges)} answers, {len(deviations)} deviations")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the Rust side shows this and fails
        print(f"validate.py failed: {e!r}", file=sys.stderr)
        raise SystemExit(2)
