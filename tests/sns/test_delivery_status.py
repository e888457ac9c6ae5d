"""Delivery status logging: with <Protocol>SuccessFeedbackRoleArn / FailureFeedbackRoleArn
set, SNS assumes the role as sns.amazonaws.com and writes a JSON event per delivery to
CloudWatch Logs (sns/<region>/<account>/<topic>, and .../Failure)."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from botocore.exceptions import ClientError
from sns_helpers import body, wait_for


def make_role(iam, trusted="sns.amazonaws.com"):
    name = f"sns-status-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": trusted},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="logs", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]}))
    return arn


def events_of(logs, group):
    try:
        return [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=group)["events"]]
    except ClientError:
        return []


def test_sqs_and_http_delivery_status_logged(mamori, subscriber):
    sns, sqs, iam, logs = (mamori.client(s) for s in ("sns", "sqs", "iam", "logs"))
    role = make_role(iam)
    name = f"status-{uuid.uuid4().hex[:6]}"
    topic = sns.create_topic(Name=name, Attributes={
        "SQSSuccessFeedbackRoleArn": role, "SQSSuccessFeedbackSampleRate": "100", "SQSFailureFeedbackRoleArn": role,
        "HTTPSuccessFeedbackRoleArn": role, "HTTPSuccessFeedbackSampleRate": "100"})["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": queue}]})})
    closed = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName=name + "-closed")["QueueUrl"],
                                      AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=closed)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/status")
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    requests.get(body(item)["SubscribeURL"], timeout=10)
    message_id = sns.publish(TopicArn=topic, Message="status please")["MessageId"]

    group = f"sns/{mamori.region}/{mamori.account_id}/{name}"
    successes = wait_for(lambda: (lambda e: e if len(e) >= 2 else None)(events_of(logs, group)),
                         what="two success events")
    by_destination = {e["delivery"]["destination"]: e for e in successes}
    sqs_event = by_destination[queue]
    assert sqs_event["status"] == "SUCCESS" and sqs_event["notification"]["messageId"] == message_id
    assert sqs_event["notification"]["topicArn"] == topic and sqs_event["delivery"]["statusCode"] == 200
    assert json.loads(sqs_event["delivery"]["providerResponse"])["sqsMessageId"]
    http_event = by_destination[subscriber.url + "/status"]
    assert http_event["delivery"]["statusCode"] == 200 and http_event["delivery"]["attempts"] == 1
    [failure] = wait_for(lambda: events_of(logs, group + "/Failure"), what="the failure event")
    assert failure["status"] == "FAILURE" and failure["delivery"]["destination"] == closed


def test_untrusted_role_logs_nothing_and_role_needs_pass_role(mamori):
    sns, sqs, iam, logs = (mamori.client(s) for s in ("sns", "sqs", "iam", "logs"))
    role = make_role(iam, trusted="lambda.amazonaws.com")  # SNS may not assume it
    name = f"status-no-{uuid.uuid4().hex[:6]}"
    topic = sns.create_topic(Name=name, Attributes={"SQSSuccessFeedbackRoleArn": role,
                                                    "SQSSuccessFeedbackSampleRate": "100"})["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": queue}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    sns.publish(TopicArn=topic, Message="delivered anyway")
    assert sqs.receive_message(QueueUrl=url)["Messages"]
    assert events_of(logs, f"sns/{mamori.region}/{mamori.account_id}/{name}") == []
    for attribute, value in (("SQSSuccessFeedbackSampleRate", "101"), ("HTTPFailureFeedbackRoleArn", "not-an-arn")):
        with pytest.raises(ClientError) as err:
            sns.set_topic_attributes(TopicArn=topic, AttributeName=attribute, AttributeValue=value)
        assert err.value.response["Error"]["Code"] == "InvalidParameter"
    # an IAM user may hand SNS a role only with iam:PassRole
    user = f"sns-pass-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="sns", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sns:*", "Resource": "*"}]}))
    as_user = mamori.client("sns", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as err:
        as_user.set_topic_attributes(TopicArn=topic, AttributeName="HTTPFailureFeedbackRoleArn", AttributeValue=role)
    assert err.value.response["Error"]["Code"] == "AuthorizationError"
    assert "iam:PassRole" in err.value.response["Error"]["Message"]
