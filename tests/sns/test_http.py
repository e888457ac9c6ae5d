"""HTTP/S subscriptions: the confirmation flow through SubscribeURL, signed
notifications verified with the certificate downloaded from SigningCertURL
(SignatureVersion 1 = SHA1withRSA, 2 = SHA256withRSA), UnsubscribeURL, raw delivery.

The string to sign is built here from the AWS documentation, independently of mamori:
for a Notification the fields Message, MessageId, Subject (if present), Timestamp,
TopicArn, Type; for SubscriptionConfirmation / UnsubscribeConfirmation Message,
MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type; each as name, newline,
value, newline.
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from sns_helpers import body, verify, wait_for

@pytest.fixture
def sns(mamori):
    return mamori.client("sns")


def confirm(sns, subscriber, topic, path="/hook"):
    """Subscribe subscriber.url+path, confirm through the SubscribeURL; returns the
    subscription ARN."""
    out = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + path)
    assert out["SubscriptionArn"] == "pending confirmation"
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation", path), what="SubscriptionConfirmation")
    message = body(item)
    verify(message)
    answer = requests.get(message["SubscribeURL"], timeout=10)  # unsigned, as an endpoint owner does
    assert answer.status_code == 200, answer.text
    root = ElementTree.fromstring(answer.content)
    arn = next(e.text for e in root.iter() if e.tag.endswith("SubscriptionArn"))
    assert arn.startswith(topic + ":")
    return arn


@pytest.mark.parametrize("version", ["1", "2"])
def test_confirmation_flow_and_signed_notification(sns, subscriber, version):
    topic = sns.create_topic(Name=f"http-v{version}", Attributes={"SignatureVersion": version})["TopicArn"]
    out = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/hook")
    assert out["SubscriptionArn"] == "pending confirmation"
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"), what="SubscriptionConfirmation")
    headers, message = item["headers"], body(item)
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["x-amz-sns-message-id"] == message["MessageId"]
    assert "x-amz-sns-subscription-arn" not in headers
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert headers["content-type"].startswith("text/plain")
    assert set(message) == {"Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL", "Timestamp",
                            "SignatureVersion", "Signature", "SigningCertURL"}
    assert message["Type"] == "SubscriptionConfirmation" and message["SignatureVersion"] == version
    assert message["Message"].startswith(f"You have chosen to subscribe to the topic {topic}.")
    verify(message)
    # nothing is delivered before the confirmation
    [pending] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert pending["SubscriptionArn"] == "PendingConfirmation"

    answer = requests.get(message["SubscribeURL"], timeout=10)
    assert answer.status_code == 200, answer.text
    assert b"<ConfirmSubscriptionResponse" in answer.content
    [confirmed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    sub_arn = confirmed["SubscriptionArn"]
    assert sub_arn.startswith(topic + ":")
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
    assert attrs["PendingConfirmation"] == "false" and attrs["ConfirmationWasAuthenticated"] == "false"
    assert json.loads(attrs["EffectiveDeliveryPolicy"])["healthyRetryPolicy"]["numRetries"] == 3

    published = sns.publish(TopicArn=topic, Message="disk almost full\nsecond line", Subject="Alarm",
                            MessageAttributes={"severity": {"DataType": "Number", "StringValue": "7"}})
    [item] = wait_for(lambda: subscriber.messages("Notification"), what="Notification")
    headers, note = item["headers"], body(item)
    assert headers["x-amz-sns-subscription-arn"] == sub_arn
    assert headers["x-amz-sns-message-id"] == published["MessageId"] == note["MessageId"]
    assert list(note) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                          "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes"]
    assert note["Message"] == "disk almost full\nsecond line" and note["Subject"] == "Alarm"
    assert note["MessageAttributes"] == {"severity": {"Type": "Number", "Value": "7"}}
    verify(note)
    tampered = dict(note, Message="disk fine")
    with pytest.raises(InvalidSignature):
        verify(tampered)

    # the UnsubscribeURL works unsigned; the endpoint is told with an UnsubscribeConfirmation
    assert requests.get(note["UnsubscribeURL"], timeout=10).status_code == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    [item] = wait_for(lambda: subscriber.messages("UnsubscribeConfirmation"), what="UnsubscribeConfirmation")
    bye = body(item)
    assert item["headers"]["x-amz-sns-subscription-arn"] == sub_arn
    verify(bye)
    # its SubscribeURL restores the subscription
    assert requests.get(bye["SubscribeURL"], timeout=10).status_code == 200
    [back] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert back["SubscriptionArn"] == sub_arn


def test_confirm_through_the_api_and_bad_tokens(sns, subscriber):
    topic = sns.create_topic(Name="http-api-confirm")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/api")
    [item] = wait_for(lambda: subscriber.messages("SubscriptionConfirmation"))
    token = body(item)["Token"]
    # subscribing again while pending sends the confirmation again, with the same token
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url + "/api")
    again = wait_for(lambda: subscriber.messages("SubscriptionConfirmation")[1:])
    assert body(again[0])["Token"] == token
    bad = requests.get(f"{body(item)['SubscribeURL'].split('&Token=')[0]}&Token=forged", timeout=10)
    assert bad.status_code == 400 and b"InvalidParameter" in bad.content
    arn = sns.confirm_subscription(TopicArn=topic, Token=token, AuthenticateOnUnsubscribe="true")["SubscriptionArn"]
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attrs["ConfirmationWasAuthenticated"] == "true"
    # AuthenticateOnUnsubscribe: the unsigned UnsubscribeURL no longer works
    sns.publish(TopicArn=topic, Message="hello")
    [note] = wait_for(lambda: subscriber.messages("Notification"))
    denied = requests.get(body(note)["UnsubscribeURL"], timeout=10)
    assert denied.status_code == 403
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["SubscriptionArn"] == arn
    sns.unsubscribe(SubscriptionArn=arn)


def test_unsigned_calls_are_limited_to_the_two_url_operations(mamori):
    answer = requests.get(f"{mamori.endpoint_url}/?Action=ListTopics", timeout=10)
    assert answer.status_code == 403 and b"<Code>MissingAuthenticationToken</Code>" in answer.content


def test_raw_delivery_and_content_type(sns, subscriber):
    topic = sns.create_topic(Name="http-raw")["TopicArn"]
    arn = confirm(sns, subscriber, topic, "/raw")
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(
        {"requestPolicy": {"headerContentType": "application/json"}}))
    sns.publish(TopicArn=topic, Message='{"raw": true}')
    [item] = wait_for(lambda: subscriber.messages("Notification", "/raw"))
    assert item["body"] == '{"raw": true}'
    assert item["headers"]["x-amz-sns-rawdelivery"] == "true"
    assert item["headers"]["content-type"] == "application/json"


def test_signing_certificate_survives_as_the_same_url(sns, subscriber, mamori):
    topic = sns.create_topic(Name="http-cert")["TopicArn"]
    confirm(sns, subscriber, topic, "/a")
    confirm(sns, subscriber, topic, "/b")
    urls = {body(m)["SigningCertURL"] for m in subscriber.messages("SubscriptionConfirmation")}
    assert len(urls) == 1  # one key pair per account and region
    [url] = urls
    assert url.startswith(mamori.endpoint_url.replace("127.0.0.1", "localhost") + "/_mamori/sns/") or \
        url.startswith(mamori.endpoint_url + "/_mamori/sns/")
    assert requests.get(url.rsplit("/", 1)[0] + "/SimpleNotificationService-nope.pem", timeout=10).status_code == 404


def test_delivery_policy_validation(sns):
    topic = sns.create_topic(Name="http-policy")["TopicArn"]
    good = {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 5, "maxDelayTarget": 60, "numRetries": 10,
                                                   "numNoDelayRetries": 1, "numMinDelayRetries": 2,
                                                   "numMaxDelayRetries": 2, "backoffFunction": "exponential"}}}
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(good))
    effective = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["EffectiveDeliveryPolicy"])
    assert effective["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 10
    for bad in ({"minDelayTarget": 30, "maxDelayTarget": 10},
                {"numRetries": 101},
                {"numRetries": 2, "numNoDelayRetries": 3},
                {"backoffFunction": "cubic"},
                {"minDelayTarget": 3600, "maxDelayTarget": 3600, "numRetries": 2}):
        with pytest.raises(Exception) as err:
            sns.set_topic_attributes(TopicArn=topic, AttributeName="DeliveryPolicy",
                                     AttributeValue=json.dumps({"http": {"defaultHealthyRetryPolicy": bad}}))
        assert err.value.response["Error"]["Code"] == "InvalidParameter", bad
    with pytest.raises(Exception) as err:
        sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="3")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(Exception) as err:
        sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="http://127.0.0.1:1/x")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
