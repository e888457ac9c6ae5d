"""SNS topics, subscriptions, Publish and tags through boto3."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def sns(mamori):
    return mamori.client("sns")


def test_topic_lifecycle_and_default_policy(sns):
    arn = sns.create_topic(Name="alerts", Tags=[{"Key": "team", "Value": "sec"}])["TopicArn"]
    assert arn.endswith(":alerts")
    assert sns.create_topic(Name="alerts")["TopicArn"] == arn
    assert {"TopicArn": arn} in sns.list_topics()["Topics"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    policy = json.loads(attrs["Policy"])
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"]["StringEquals"]["AWS:SourceOwner"] == attrs["Owner"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Alerts")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Alerts"
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as err:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError):
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k" * 129, "Value": "x"}])  # the model's length limit
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as err:
        sns.get_topic_attributes(TopicArn=arn)
    assert err.value.response["Error"]["Code"] == "NotFound"


def test_bad_names_and_fifo(sns):
    with pytest.raises(ClientError) as err:
        sns.create_topic(Name="bad name")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    arn = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=arn, Message="x")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    out = sns.publish(TopicArn=arn, Message="x", MessageGroupId="g", MessageDeduplicationId="d")
    assert out["SequenceNumber"]


def test_email_subscription_needs_confirmation(sns):
    arn = sns.create_topic(Name="mail")["TopicArn"]
    out = sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="ops@example.com")
    assert out["SubscriptionArn"] == "pending confirmation"
    subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert subs[0]["SubscriptionArn"] == "PendingConfirmation"
    assert sns.list_subscriptions()["Subscriptions"]
    with pytest.raises(ClientError) as err:
        sns.confirm_subscription(TopicArn=arn, Token="nope")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"


def test_subscription_attributes_and_unsubscribe(sns):
    arn = sns.create_topic(Name="q")["TopicArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="sms", Endpoint="+15555550100")["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                    AttributeValue='{"k": ["v"]}')
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["FilterPolicy"] == '{"k": ["v"]}' and attrs["Protocol"] == "sms"
    assert sns.publish(TopicArn=arn, Message="hello")["MessageId"]
    sns.unsubscribe(SubscriptionArn=sub)
    with pytest.raises(ClientError) as err:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert err.value.response["Error"]["Code"] == "NotFound"


def test_email_confirmation_and_delivery_to_local_mailbox(mamori, sns):
    arn = sns.create_topic(Name="notify")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="sec@example.com")
    mails = [m for m in mamori.admin("GET", "mail")["mail"] if m["to"] == "sec@example.com"]
    token = mails[-1]["body"].split("Token=")[-1].strip()
    sub = sns.confirm_subscription(TopicArn=arn, Token=token)["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    sns.publish(TopicArn=arn, Message="disk full", Subject="Alarm")
    mails = [m for m in mamori.admin("GET", "mail")["mail"] if m["to"] == "sec@example.com"]
    assert mails[-1]["subject"] == "Alarm" and mails[-1]["body"].startswith("disk full\n\n--\n")
    assert mails[-1]["from"] == "AWS Notifications <no-reply@sns.amazonaws.com>"
    # the footer's unsubscribe link works, unsigned, as AWS's does
    import requests

    link = mails[-1]["body"].split("to unsubscribe:\n")[1].split("\n")[0]
    assert requests.get(link, timeout=10).status_code == 200
    assert sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []


def test_publish_batch_per_entry_errors(sns):
    arn = sns.create_topic(Name="batch")["TopicArn"]
    out = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "one"}, {"Id": "b", "Message": ""}])
    assert [e["Id"] for e in out["Successful"]] == ["a"]
    assert out["Failed"][0]["Id"] == "b" and out["Failed"][0]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}])
    assert err.value.response["Error"]["Code"] == "BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=arn, Message="x" * 262145)
    assert err.value.response["Error"]["Code"] == "InvalidParameter"


def test_topic_policy_decides_for_another_account(mamori, sns):
    import boto3

    arn = sns.create_topic(Name="guarded")["TopicArn"]
    other = mamori.create_principal("publisher", account_id="222233334444")
    client = boto3.client("sns", endpoint_url=mamori.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=other["AccessKeyId"], aws_secret_access_key=other["SecretAccessKey"])
    with pytest.raises(ClientError) as err:
        client.publish(TopicArn=arn, Message="hi")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.value.response["Error"]["Code"] == "AuthorizationError"


def test_same_account_service_publishes_through_the_default_policy(mamori, sns):
    """EventBridge and CloudWatch publish as their service principal with
    aws:SourceAccount: AWS's default topic policy (AWS:SourceOwner) lets them in."""
    from mamori.gateway.context import Principal

    runtime = mamori._server.config.app.runtime
    arn = sns.create_topic(Name="from-events")["TopicArn"]
    account = arn.split(":")[4]
    sns.subscribe(TopicArn=arn, Protocol="email-json", Endpoint="bus@example.com")
    out = runtime.invoke("sns", "Publish", {"TopicArn": arn, "Message": "{}"},
                         principal=Principal.service("events.amazonaws.com", account),
                         source_arn=f"arn:aws:events:us-east-1:{account}:rule/r", source_account=account)
    assert out["MessageId"]
    with pytest.raises(Exception) as err:
        runtime.invoke("sns", "Publish", {"TopicArn": arn, "Message": "{}"},
                       principal=Principal.service("events.amazonaws.com", "999988887777"),
                       source_arn="arn:aws:events:us-east-1:999988887777:rule/r", source_account="999988887777")
    assert getattr(err.value, "code", "") == "AuthorizationError"


def test_fifo_deduplication_window_on_the_clock(mamori, sns, mamori_clock):
    arn = sns.create_topic(Name="dedup.fifo", Attributes={"FifoTopic": "true",
                                                          "ContentBasedDeduplication": "true"})["TopicArn"]
    first = sns.publish(TopicArn=arn, Message="same", MessageGroupId="g")
    again = sns.publish(TopicArn=arn, Message="same", MessageGroupId="g")
    assert again["MessageId"] == first["MessageId"]
    mamori_clock.advance(301)
    later = sns.publish(TopicArn=arn, Message="same", MessageGroupId="g")
    assert later["MessageId"] != first["MessageId"]
    # expired deduplication entries are forgotten, not kept forever
    mamori_clock.advance(400)
    kept = [r for r in mamori.admin("GET", "state")["resources"] if r["kind"] == "sns-dedup" and arn in r["arn"]]
    assert kept == []
    plain = sns.create_topic(Name="plain.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=plain, Message="x", MessageGroupId="g")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"


def test_filter_policy_decides_email_delivery(mamori, sns):
    arn = sns.create_topic(Name="filtered")["TopicArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="email-json", Endpoint="f@example.com",
                        ReturnSubscriptionArn=True)["SubscriptionArn"]
    token = [m for m in mamori.admin("GET", "mail")["mail"] if m["to"] == "f@example.com"][-1]["body"].split("Token=")[-1]
    sns.confirm_subscription(TopicArn=arn, Token=token.strip())
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                    AttributeValue='{"severity": [{"numeric": [">=", 7]}], "kind": [{"prefix": "guard"}]}')
    with pytest.raises(ClientError):
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="{not json")
    def attrs(sev, kind):
        return {"severity": {"DataType": "Number", "StringValue": str(sev)},
                "kind": {"DataType": "String", "StringValue": kind}}
    sns.publish(TopicArn=arn, Message="low", MessageAttributes=attrs(3, "guardduty"))
    sns.publish(TopicArn=arn, Message="other", MessageAttributes=attrs(9, "inspector"))
    sns.publish(TopicArn=arn, Message="high", MessageAttributes=attrs(8, "guardduty"))
    bodies = [json.loads(m["body"])["Message"] for m in mamori.admin("GET", "mail")["mail"]
              if m["to"] == "f@example.com" and m.get("MessageId")]
    assert bodies == ["high"]


def test_permissions_and_data_protection_policy(sns):
    arn = sns.create_topic(Name="perms")["TopicArn"]
    sns.add_permission(TopicArn=arn, Label="partner", AWSAccountId=["222233334444"], ActionName=["Publish"])
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    assert statements[-1] == {"Sid": "partner", "Effect": "Allow",
                              "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
                              "Action": ["SNS:Publish"], "Resource": arn}
    sns.remove_permission(TopicArn=arn, Label="partner")
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["__default_statement_ID"]
    policy = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": [{
        "Sid": "deny-inbound", "DataDirection": "Inbound", "Principal": ["*"],
        "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/EmailAddress"], "Operation": {"Deny": {}}}]})
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=policy)
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == policy
    for bad in ("{", json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": [{"Operation": {"Shred": {}}}]}),
                json.dumps({"Statement": []})):
        with pytest.raises(ClientError) as err:
            sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=bad)
        assert err.value.response["Error"]["Code"] == "InvalidParameter"


def test_kms_encrypted_topic_needs_a_usable_key(mamori, sns):
    kms = mamori.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    arn = sns.create_topic(Name="sse", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    assert sns.publish(TopicArn=arn, Message="secret")["MessageId"]
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=arn, Message="secret")
    assert err.value.response["Error"]["Code"] == "KMSDisabled"
    missing = sns.create_topic(Name="sse2", Attributes={"KmsMasterKeyId": "alias/none"})["TopicArn"]
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=missing, Message="x")
    assert err.value.response["Error"]["Code"] == "KMSNotFound"


def test_confirmation_tokens_expire_after_two_days(mamori, sns, mamori_clock):
    mamori_clock.freeze()
    arn = sns.create_topic(Name="expiring")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="late@example.com")
    token = [m for m in mamori.admin("GET", "mail")["mail"] if m["to"] == "late@example.com"][-1]["body"]
    token = token.split("Token=")[-1].strip()
    mamori_clock.advance(2 * 86400 + 1)
    with pytest.raises(ClientError) as err:
        sns.confirm_subscription(TopicArn=arn, Token=token)
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="late@example.com")  # sent again, valid again
    assert sns.confirm_subscription(TopicArn=arn, Token=token)["SubscriptionArn"].startswith(arn + ":")


def test_filter_policy_constraints(sns):
    """https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html"""
    arn = sns.create_topic(Name="filter-limits")["TopicArn"]
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:f")["SubscriptionArn"]
    too_many_keys = {f"k{i}": ["v"] for i in range(6)}
    too_complex = {"a": [str(i) for i in range(11)], "b": [str(i) for i in range(14)]}  # 154 combinations
    nested = {"detail": {"kind": ["x"]}}
    out_of_range = {"n": [{"numeric": [">", 1000000001]}]}
    for bad in (too_many_keys, too_complex, nested, out_of_range):
        with pytest.raises(ClientError) as err:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                            AttributeValue=json.dumps(bad))
        assert err.value.response["Error"]["Code"] == "InvalidParameter", bad
    ok = {"a": [str(i) for i in range(10)], "b": [str(i) for i in range(15)]}  # 150: the limit itself
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue=json.dumps(ok))
    # nesting is for the message body scope
    body_sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:g",
                             Attributes={"FilterPolicyScope": "MessageBody",
                                         "FilterPolicy": json.dumps(nested)})["SubscriptionArn"]
    with pytest.raises(ClientError) as err:
        sns.set_subscription_attributes(SubscriptionArn=body_sub, AttributeName="FilterPolicyScope",
                                        AttributeValue="MessageAttributes")
    assert err.value.response["Error"]["Code"] == "InvalidParameter"


def test_lists_page_by_100(sns):
    topic = sns.create_topic(Name="paged")["TopicArn"]
    for i in range(101):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:000000000000:paged-{i}")
    first = sns.list_subscriptions_by_topic(TopicArn=topic)
    assert len(first["Subscriptions"]) == 100 and first["NextToken"]
    rest = sns.list_subscriptions_by_topic(TopicArn=topic, NextToken=first["NextToken"])
    assert len(rest["Subscriptions"]) == 1 and "NextToken" not in rest
    pages = list(sns.get_paginator("list_topics").paginate())
    assert topic in [t["TopicArn"] for p in pages for t in p["Topics"]]
    sns.delete_topic(TopicArn=topic)
    left = [s for p in sns.get_paginator("list_subscriptions").paginate() for s in p["Subscriptions"]]
    assert not [s for s in left if s["TopicArn"] == topic]
