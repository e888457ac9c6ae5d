"""A rule delivering to a CloudWatch Logs group. As in AWS, EventBridge writes as
events.amazonaws.com and the account's Logs resource policy must allow it
(logs:CreateLogStream and logs:PutLogEvents on the group's streams)."""

from __future__ import annotations

import json

from events_helpers import unique


def test_rule_to_log_group(mamori, events):
    logs = mamori.client("logs")
    group = f"/aws/events/{unique('g')}"
    logs.create_log_group(logGroupName=group)
    arn = f"arn:aws:logs:{mamori.region}:{mamori.account_id}:log-group:{group}"
    logs.put_resource_policy(policyName=unique("events"), policyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": f"{arn}:*"}]}))
    source = unique("app")
    rule = unique("rule")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "logs", "Arn": arn}])
    event_id = events.put_events(Entries=[{"Source": source, "DetailType": "x", "Detail": '{"k": 1}'}])[
        "Entries"][0]["EventId"]
    found = logs.filter_log_events(logGroupName=group)["events"]
    assert [json.loads(e["message"])["id"] for e in found] == [event_id]
