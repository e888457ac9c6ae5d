"""Event patterns through boto3 `TestEventPattern`: every case of pattern_cases.json.

Each case is a pattern, an event (merged into a full envelope) and either the expected
`match` (true/false, written by hand from the EventBridge docs: eb-event-patterns,
eb-create-pattern-operators, eb-event-patterns-arrays, null values) or the expected
`InvalidEventPatternException` reason. A sample of the matching cases also runs through
a real rule delivering to an SQS queue (test_delivery.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

CASES = json.loads((Path(__file__).parent / "pattern_cases.json").read_text())
MATCH_CASES = [c for c in CASES if "match" in c]
ERROR_CASES = [c for c in CASES if "error" in c]

ENVELOPE = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Test Event",
    "source": "test.source",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


def full_event(case: dict) -> dict:
    return {**ENVELOPE, **case["event"]}


def test_there_are_enough_cases():
    assert len(MATCH_CASES) >= 150
    assert len({c["name"] for c in CASES}) == len(CASES)
    kinds = json.dumps([c["pattern"] for c in CASES])
    for operator in ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists",
                     "cidr", "$or"):
        assert f'"{operator}"' in kinds, operator


@pytest.fixture(scope="module")
def events(mamori):
    return mamori.client("events")


@pytest.mark.parametrize("case", MATCH_CASES, ids=[c["name"] for c in MATCH_CASES])
def test_match(events, case):
    result = events.test_event_pattern(EventPattern=json.dumps(case["pattern"]), Event=json.dumps(full_event(case)))
    assert result["Result"] is case["match"]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["name"] for c in ERROR_CASES])
def test_invalid_pattern(events, case):
    with pytest.raises(ClientError) as info:
        events.test_event_pattern(EventPattern=json.dumps(case["pattern"]), Event=json.dumps(ENVELOPE))
    err = info.value.response["Error"]
    assert err["Code"] == "InvalidEventPatternException"
    assert err["Message"].startswith("Event pattern is not valid. Reason: ")
    assert case["error"] in err["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invalid_pattern_also_refused_by_put_rule(events):
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="bad-pattern", EventPattern=json.dumps({"source": "aws.ec2"}))
    assert info.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert '"source" must be an object or an array' in info.value.response["Error"]["Message"]


def test_pattern_not_json(events):
    with pytest.raises(ClientError) as info:
        events.test_event_pattern(EventPattern="{source: [1]", Event=json.dumps(ENVELOPE))
    assert info.value.response["Error"]["Code"] == "InvalidEventPatternException"


def test_duplicate_key_last_wins(events):
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html: with a
    # duplicated key only the last occurrence counts.
    pattern = '{"detail": {"location": ["a"], "location": ["b"]}}'
    ev = dict(ENVELOPE, detail={"location": "b"})
    assert events.test_event_pattern(EventPattern=pattern, Event=json.dumps(ev))["Result"] is True
    ev = dict(ENVELOPE, detail={"location": "a"})
    assert events.test_event_pattern(EventPattern=pattern, Event=json.dumps(ev))["Result"] is False


def test_event_without_envelope_fields_is_invalid(events):
    with pytest.raises(ClientError) as info:
        events.test_event_pattern(EventPattern=json.dumps({"source": ["a"]}), Event=json.dumps({"source": "a"}))
    assert info.value.response["Error"]["Code"] == "ValidationException"


def test_too_many_or_combinations(events):
    branch = {"$or": [{f"k{i}": ["v"]} for i in range(11)]}
    pattern = {"detail": {"a": branch, "b": branch, "c": branch}}  # 11**3 > 1000
    with pytest.raises(ClientError) as info:
        events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(ENVELOPE))
    assert info.value.response["Error"]["Code"] == "InvalidEventPatternException"
