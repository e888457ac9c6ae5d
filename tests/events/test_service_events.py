"""AWS service events: what a service publishes on mamori's internal bus (`ctx.emit`)
reaches the default bus of its account and Region with AWS's envelope and goes through
the rules. A small stand-in EC2 provider emits the state-change event the seed's
hands-on uses (EC2 isn't in mamori yet); everything else is the real server."""

from __future__ import annotations

import json

import pytest
from events_helpers import Endpoint

from mamori.services.base import Provider
from mamori.testing.plugin import MamoriServer


class InstancesStandIn(Provider):
    service = "ec2"

    def stop_instances(self, ctx, request):
        ctx.authorize("ec2:StopInstances")
        for instance in request["InstanceIds"]:
            ctx.emit("aws.ec2", "EC2 Instance State-change Notification", {"instance-id": instance, "state": "stopped"},
                     [f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:instance/{instance}"])
        return {"StoppingInstances": []}


@pytest.fixture(scope="module")
def server():
    srv = MamoriServer.start(extra_providers={"ec2": InstancesStandIn})
    try:
        yield srv
    finally:
        srv.stop()


def test_emitted_service_event_reaches_rule(server):
    endpoint = Endpoint()
    try:
        events = server.client("events")
        conn = events.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})["ConnectionArn"]
        dest = events.create_api_destination(Name="d", ConnectionArn=conn, InvocationEndpoint=endpoint.url + "/ec2",
                                             HttpMethod="POST")["ApiDestinationArn"]
        events.put_rule(Name="stopped", EventPattern=json.dumps({
            "source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["stopped", "terminated"]}}))
        events.put_targets(Rule="stopped", Targets=[{"Id": "d", "Arn": dest, "InputTransformer": {
            "InputPathsMap": {"i": "$.detail.instance-id", "s": "$.detail.state"},
            "InputTemplate": '"Instance <i> is now <s>."'}}])
        events.put_rule(Name="any-ec2-call", EventPattern=json.dumps({
            "source": ["aws.ec2"], "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {"eventName": ["StopInstances"]}}))
        events.put_targets(Rule="any-ec2-call", Targets=[{"Id": "d", "Arn": dest}])
        server.client("ec2").stop_instances(InstanceIds=["i-0abc"])
        calls = endpoint.wait("/ec2", 2)
        bodies = [c["body"] for c in calls]
        assert '"Instance i-0abc is now stopped."' in bodies
        [trail] = [json.loads(b) for b in bodies if b.startswith("{")]
        assert trail["detail"]["eventName"] == "StopInstances" and trail["source"] == "aws.ec2"
    finally:
        endpoint.close()


def test_kms_rotation_event_reaches_a_queue(mamori, make_queue):
    """KMS publishes "KMS CMK Rotation" on the internal bus: it reaches the default bus
    with AWS's envelope (source aws.kms, the key ARN in resources, detail {"key-id"}),
    https://docs.aws.amazon.com/kms/latest/developerguide/kms-events.html."""
    from events_helpers import receive_all, unique

    events, kms, sqs = mamori.client("events"), mamori.client("kms"), mamori.client("sqs")
    key = kms.create_key()["KeyMetadata"]
    rule = unique("kms-rotation")
    rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps({
        "source": ["aws.kms"], "detail-type": ["KMS CMK Rotation"], "resources": [key["Arn"]]}))["RuleArn"]
    url, queue_arn = make_queue(source_arn=rule_arn)
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])
    kms.rotate_key_on_demand(KeyId=key["KeyId"])
    [message] = receive_all(sqs, url, expect=1)
    event = json.loads(message["Body"])
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert (event["source"], event["detail-type"], event["version"]) == ("aws.kms", "KMS CMK Rotation", "0")
    assert event["resources"] == [key["Arn"]] and event["detail"] == {"key-id": key["KeyId"]}
    assert event["account"] == mamori.account_id and event["region"] == mamori.region
