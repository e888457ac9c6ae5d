"""Log transformers: stored per log group; TestTransformer over data-driven cases
(data/transformers.json, expected records written by hand from AWS's processor docs)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

CASES = json.loads((Path(__file__).parent / "data" / "transformers.json").read_text())


@pytest.fixture(scope="module")
def logs(mamori):
    return mamori.client("logs")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_test_transformer(logs, case):
    out = logs.test_transformer(transformerConfig=case["config"], logEventMessages=[case["message"]])
    got = out["transformedLogs"][0]
    assert got["eventNumber"] == 1 and got["eventMessage"] == case["message"]
    if case["expected"] is None:
        assert "transformedEventMessage" not in got
    else:
        assert json.loads(got["transformedEventMessage"]) == case["expected"]


@pytest.mark.parametrize("config, code, words", [
    ([{"addKeys": {"entries": [{"key": "a", "value": "b"}]}}], "InvalidParameterException", "first processor"),
    ([{"grok": {"match": "%{IP:ip}"}}], "InvalidParameterException", "grok"),
    ([{"parseJSON": {}}] * 21, "ValidationException", "less than or equal to 20"),
])
def test_bad_configs(logs, config, code, words):
    with pytest.raises(ClientError) as exc:
        logs.test_transformer(transformerConfig=config, logEventMessages=["x"])
    assert exc.value.response["Error"]["Code"] == code
    assert words in exc.value.response["Error"]["Message"]


def test_stored_transformer(logs):
    group = f"/transform/{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=group)
    config = [{"parseJSON": {}}, {"deleteKeys": {"withKeys": ["password"]}}]
    logs.put_transformer(logGroupIdentifier=group, transformerConfig=config)
    got = logs.get_transformer(logGroupIdentifier=group)
    assert got["transformerConfig"] == config and got["creationTime"] == got["lastModifiedTime"]
    logs.delete_transformer(logGroupIdentifier=group)
    with pytest.raises(ClientError) as exc:
        logs.get_transformer(logGroupIdentifier=group)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=group)
