"""Writes the input models the sandbox validates requests by: for each service, the input
shapes of the operations the sandbox serves, cut from botocore's published service model to
what validation reads (type, members, required, member/key/value, min, max, pattern, enum).

    python3 crates/sandbox/models/trim.py <botocore data dir> crates/sandbox/models

(the data dir is `python3 -c 'import botocore, os; print(os.path.dirname(botocore.__file__))'`
followed by `/data`.)

The model test (crates/sandbox/tests/models) runs this against its pinned botocore and fails
when the files here differ: raise botocore there and rerun this to take a newer model.
"""

import gzip
import json
import os
import sys

SERVICES = {
    "firehose": ("2015-08-04", [
        "CreateDeliveryStream", "DeleteDeliveryStream", "DescribeDeliveryStream",
        "ListDeliveryStreams", "StartDeliveryStreamEncryption", "StopDeliveryStreamEncryption",
        "PutRecord", "PutRecordBatch", "TagDeliveryStream", "UntagDeliveryStream",
        "ListTagsForDeliveryStream",
    ]),
    "kms": ("2014-11-01", [
        "CreateKey", "DescribeKey", "DisableKey", "EnableKey", "ListKeys", "GetKeyPolicy",
        "PutKeyPolicy",
    ]),
    "sts": ("2011-06-15", ["AssumeRole", "GetCallerIdentity"]),
    "organizations": ("2016-11-28", ["ListAccounts"]),
    "iam": ("2010-05-08", [
        "AddUserToGroup", "AttachGroupPolicy", "AttachRolePolicy", "AttachUserPolicy",
        "CreateGroup", "CreatePolicy", "CreateRole", "CreateUser",
        "GetAccountAuthorizationDetails", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy",
        "SimulatePrincipalPolicy",
    ]),
    "cloudwatch": ("2010-08-01", [
        "DescribeAlarms", "GetMetricData", "PutMetricAlarm", "PutMetricData", "SetAlarmState",
    ]),
    "kinesis": ("2013-12-02", ["CreateStream", "DescribeStreamSummary", "StartStreamEncryption"]),
    "resourcegroupstaggingapi": ("2017-01-26", ["GetResources"]),
}
KEPT = ("type", "required", "min", "max", "pattern", "enum")


def trim(model, operations):
    shapes = {}
    inputs = {}
    stack = []
    for op in operations:
        shape = model["operations"][op]["input"]["shape"]
        inputs[op] = shape
        stack.append(shape)
    while stack:
        name = stack.pop()
        if name in shapes:
            continue
        full = model["shapes"][name]
        shape = {k: full[k] for k in KEPT if k in full}
        if "members" in full:
            shape["members"] = {m: v["shape"] for m, v in full["members"].items()}
            stack.extend(shape["members"].values())
        for part in ("member", "key", "value"):
            if part in full:
                shape[part] = full[part]["shape"]
                stack.append(shape[part])
        shapes[name] = shape
    return {"operations": inputs, "shapes": dict(sorted(shapes.items()))}


def main():
    data, out = sys.argv[1], sys.argv[2]
    for service, (version, operations) in SERVICES.items():
        path = os.path.join(data, service, version, "service-2.json")
        if os.path.exists(path):
            with open(path) as f:
                model = json.load(f)
        else:  # botocore's wheels ship their models gzipped
            with gzip.open(path + ".gz", "rt") as f:
                model = json.load(f)
        trimmed = trim(model, operations)
        trimmed["source"] = f"botocore {service}/{version}/service-2.json, input shapes of the operations served"
        with open(os.path.join(out, f"{service}-input.json"), "w") as f:
            json.dump(trimmed, f, indent=1, sort_keys=False)
            f.write("\n")


if __name__ == "__main__":
    main()
