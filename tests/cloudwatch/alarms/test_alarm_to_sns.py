"""An alarm's SNS action, end to end: PutMetricData + the clock breach the alarm,
CloudWatch publishes AWS's alarm notification to the topic through SNS's public API
(as cloudwatch.amazonaws.com, allowed by the topic's default policy), and the SQS queue
subscribed to the topic receives it: Subject `ALARM: "name" in <Region long name>`,
Message the alarm JSON (aws-semantics.md 5G)."""

from __future__ import annotations

import json
import time
import uuid

from alarm_helpers import boundary, put


def _receive(sqs, url, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages")
        if got:
            return got
        time.sleep(0.05)  # real time: SNS delivers on a worker thread
    return []


def test_alarm_notification_reaches_the_topic_subscribers(mamori, mamori_clock, cw2):
    cw, sns, sqs = cw2, mamori.client("sns"), mamori.client("sqs")
    suffix = uuid.uuid4().hex[:8]
    name = f"to-sns-{suffix}"
    topic = sns.create_topic(Name=f"alarms-{suffix}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"alarms-{suffix}")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": queue,
                                                "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)

    b = boundary(mamori_clock)
    cw.put_metric_alarm(AlarmName=name, Namespace="Mamori/ToSns", MetricName=name, Statistic="Maximum", Period=60,
                        EvaluationPeriods=1, Threshold=10.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        AlarmActions=[topic])
    put(cw, "Mamori/ToSns", name, b + 10, 42.0)
    mamori_clock.advance(60)
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"

    [message] = _receive(sqs, url)
    note = json.loads(message["Body"])
    assert note["Type"] == "Notification" and note["TopicArn"] == topic
    assert note["Subject"] == f'ALARM: "{name}" in US East (N. Virginia)'
    body = json.loads(note["Message"])
    assert body["AlarmName"] == name and body["NewStateValue"] == "ALARM" and body["OldStateValue"] == "INSUFFICIENT_DATA"
    assert body["NewStateReason"] == alarm["StateReason"] and body["AlarmArn"] == alarm["AlarmArn"]
    assert body["Region"] == "US East (N. Virginia)" and body["AWSAccountId"] == mamori.account_id
    assert body["Trigger"]["MetricName"] == name and body["Trigger"]["Statistic"] == "MAXIMUM"
    [action] = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    assert action["HistorySummary"] == f"Successfully executed action {topic}"
