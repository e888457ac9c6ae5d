"""Vended-log deliveries and log anomaly detectors (stored and validated)."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def logs(mamori):
    return mamori.client("logs")


def test_delivery_chain(logs):
    tag = uuid.uuid4().hex[:6]
    src = logs.put_delivery_source(name=f"src-{tag}", logType="APPLICATION_LOGS",
                                   resourceArn="arn:aws:bedrock:us-east-1:000000000000:knowledge-base/kb1")
    assert src["deliverySource"]["service"] == "bedrock"
    group = f"/vended/{tag}"
    logs.create_log_group(logGroupName=group)
    dest = logs.put_delivery_destination(
        name=f"dst-{tag}", outputFormat="json",
        deliveryDestinationConfiguration={"destinationResourceArn": f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"},
    )["deliveryDestination"]
    assert dest["deliveryDestinationType"] == "CWL"
    with pytest.raises(ClientError) as exc:
        logs.put_delivery_destination(name=f"bad-{tag}", deliveryDestinationConfiguration={
            "destinationResourceArn": "arn:aws:sqs:us-east-1:000000000000:q"})
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    logs.put_delivery_destination_policy(deliveryDestinationName=f"dst-{tag}", deliveryDestinationPolicy=policy)
    assert logs.get_delivery_destination_policy(
        deliveryDestinationName=f"dst-{tag}")["policy"]["deliveryDestinationPolicy"] == policy
    delivery = logs.create_delivery(deliverySourceName=f"src-{tag}", deliveryDestinationArn=dest["arn"])["delivery"]
    with pytest.raises(ClientError) as exc:
        logs.create_delivery(deliverySourceName=f"src-{tag}", deliveryDestinationArn=dest["arn"])
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as exc:
        logs.delete_delivery_source(name=f"src-{tag}")
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    logs.update_delivery_configuration(id=delivery["id"], fieldDelimiter=",")
    assert logs.get_delivery(id=delivery["id"])["delivery"]["fieldDelimiter"] == ","
    assert delivery["id"] in [d["id"] for d in logs.describe_deliveries()["deliveries"]]
    assert f"src-{tag}" in [s["name"] for s in logs.describe_delivery_sources()["deliverySources"]]
    assert f"dst-{tag}" in [d["name"] for d in logs.describe_delivery_destinations()["deliveryDestinations"]]
    assert logs.get_delivery_source(name=f"src-{tag}")["deliverySource"]["logType"] == "APPLICATION_LOGS"
    assert logs.get_delivery_destination(name=f"dst-{tag}")["deliveryDestination"]["outputFormat"] == "json"
    logs.delete_delivery(id=delivery["id"])
    logs.delete_delivery_destination_policy(deliveryDestinationName=f"dst-{tag}")
    logs.delete_delivery_destination(name=f"dst-{tag}")
    logs.delete_delivery_source(name=f"src-{tag}")
    with pytest.raises(ClientError) as exc:
        logs.get_delivery(id=delivery["id"])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=group)


def test_anomaly_detectors(logs):
    group = f"/anomaly/{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=group)
    garn = f"arn:aws:logs:us-east-1:000000000000:log-group:{group}"
    arn = logs.create_log_anomaly_detector(logGroupArnList=[garn], detectorName="d",
                                           evaluationFrequency="TEN_MIN", filterPattern="ERROR")["anomalyDetectorArn"]
    got = logs.get_log_anomaly_detector(anomalyDetectorArn=arn)
    assert got["detectorName"] == "d" and got["evaluationFrequency"] == "TEN_MIN"
    with pytest.raises(ClientError) as exc:
        logs.create_log_anomaly_detector(logGroupArnList=[garn + "-missing"])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.update_log_anomaly_detector(anomalyDetectorArn=arn, enabled=False)
    assert logs.get_log_anomaly_detector(anomalyDetectorArn=arn)["anomalyDetectorStatus"] == "PAUSED"
    listed = logs.list_log_anomaly_detectors(filterLogGroupArn=garn)["anomalyDetectors"]
    assert [d["anomalyDetectorArn"] for d in listed] == [arn]
    assert logs.list_anomalies(anomalyDetectorArn=arn)["anomalies"] == []
    # UpdateAnomaly: one of anomalyId / patternId, a period for LIMITED, then the anomaly must exist.
    with pytest.raises(ClientError) as exc:
        logs.update_anomaly(anomalyDetectorArn=arn, anomalyId=str(uuid.uuid4()), patternId="0" * 32)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.update_anomaly(anomalyDetectorArn=arn, patternId="0" * 32, suppressionType="LIMITED")
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.update_anomaly(anomalyDetectorArn=arn, anomalyId=str(uuid.uuid4()), suppressionType="INFINITE")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.delete_log_anomaly_detector(anomalyDetectorArn=arn)
    with pytest.raises(ClientError) as exc:
        logs.update_anomaly(anomalyDetectorArn=arn, anomalyId=str(uuid.uuid4()))
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        logs.get_log_anomaly_detector(anomalyDetectorArn=arn)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=group)
