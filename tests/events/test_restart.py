"""EventBridge state lives in the stores: after a restart on the same data directory,
scheduled rules are armed again and connections still hold their (sealed) secrets."""

from __future__ import annotations

import base64
import json

from events_helpers import Endpoint

from mamori.config import Config
from mamori.testing.plugin import ClockControl, MamoriServer


def test_schedules_and_connections_survive_a_restart(tmp_path):
    endpoint = Endpoint()
    first = MamoriServer.start(Config(data_dir=tmp_path, strict=True))
    try:
        ClockControl(first).freeze()
        events = first.client("events")
        conn = events.create_connection(Name="c", AuthorizationType="BASIC", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "kept-secret"}})["ConnectionArn"]
        dest = events.create_api_destination(Name="d", ConnectionArn=conn, InvocationEndpoint=endpoint.url + "/tick",
                                             HttpMethod="POST")["ApiDestinationArn"]
        events.put_rule(Name="every-5", ScheduleExpression="rate(5 minutes)")
        events.put_targets(Rule="every-5", Targets=[{"Id": "d", "Arn": dest}])
    finally:
        first.stop()
    assert b"kept-secret" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    second = MamoriServer.start(Config(data_dir=tmp_path, strict=True))
    try:
        ClockControl(second).advance("11m")
        calls = endpoint.wait("/tick", 2)
        assert len(calls) == 2
        assert calls[0]["headers"]["authorization"] == "Basic " + base64.b64encode(b"u:kept-secret").decode()
        assert json.loads(calls[0]["body"])["detail-type"] == "Scheduled Event"
        assert second.client("events").describe_rule(Name="every-5")["State"] == "ENABLED"
    finally:
        second.stop()
        endpoint.close()
