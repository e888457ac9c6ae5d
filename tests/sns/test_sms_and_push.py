"""SMS and mobile push: account SMS attributes, opted-out numbers, the SMS sandbox,
platform applications and endpoints, and texts/pushes in the local outbox (kind
"sns-outbox" in the admin state), plus lambda subscriptions recorded as failed."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def sns(mamori):
    return mamori.client("sns")


def outbox(mamori, endpoint):
    docs = [r["doc"] for r in mamori.admin("GET", "state")["resources"] if r["kind"] == "sns-outbox"]
    return [d for d in docs if d["endpoint"] == endpoint]


def code(err):
    return err.value.response["Error"]["Code"]


def test_sms_attributes(sns):
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional", "MonthlySpendLimit": "5"})
    assert sns.get_sms_attributes()["attributes"] == {"DefaultSMSType": "Transactional", "MonthlySpendLimit": "5"}
    assert sns.get_sms_attributes(attributes=["MonthlySpendLimit"])["attributes"] == {"MonthlySpendLimit": "5"}
    with pytest.raises(ClientError) as err:
        sns.set_sms_attributes(attributes={"DefaultSMSType": "Loud"})
    assert code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.set_sms_attributes(attributes={"NoSuchThing": "1"})
    assert code(err) == "InvalidParameter"


def test_opt_out_and_opt_in_once_every_30_days(mamori, sns, mamori_clock):
    from mamori.services.sns.sms import opt_out

    runtime = mamori._server.config.app.runtime
    number = "+15555550111"
    assert sns.check_if_phone_number_is_opted_out(phoneNumber=number)["isOptedOut"] is False
    opt_out(runtime, mamori.account_id, mamori.region, number)  # the subscriber replied STOP
    assert sns.check_if_phone_number_is_opted_out(phoneNumber=number)["isOptedOut"] is True
    assert number in sns.list_phone_numbers_opted_out()["phoneNumbers"]
    sns.opt_in_phone_number(phoneNumber=number)
    assert sns.check_if_phone_number_is_opted_out(phoneNumber=number)["isOptedOut"] is False
    opt_out(runtime, mamori.account_id, mamori.region, number)
    with pytest.raises(ClientError) as err:
        sns.opt_in_phone_number(phoneNumber=number)
    assert code(err) == "InvalidParameter"
    mamori_clock.advance("31d")
    sns.opt_in_phone_number(phoneNumber=number)
    with pytest.raises(ClientError) as err:
        sns.check_if_phone_number_is_opted_out(phoneNumber="not a number")
    assert code(err) == "InvalidParameter"


def test_sandbox_numbers_and_texts_in_the_outbox(mamori, sns):
    assert sns.get_sms_sandbox_account_status()["IsInSandbox"] is True
    number = "+15555550122"
    sns.create_sms_sandbox_phone_number(PhoneNumber=number, LanguageCode="en-US")
    assert {"PhoneNumber": number, "Status": "Pending"} in sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"]
    [otp_text] = [d["body"] for d in outbox(mamori, number)]
    otp = otp_text.rsplit(" ", 1)[1]
    with pytest.raises(ClientError) as err:
        sns.verify_sms_sandbox_phone_number(PhoneNumber=number, OneTimePassword="000000" if otp != "000000" else "1")
    assert code(err) == "VerificationException"
    # not yet verified: the text is recorded as failed
    sns.publish(PhoneNumber=number, Message="before")
    sns.verify_sms_sandbox_phone_number(PhoneNumber=number, OneTimePassword=otp)
    assert {"PhoneNumber": number, "Status": "Verified"} in sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"]
    message_id = sns.publish(PhoneNumber=number, Message="after", MessageAttributes={
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
        "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "MAMORI"}})["MessageId"]
    texts = [d for d in outbox(mamori, number) if isinstance(d["body"], dict)]
    assert [(d["body"]["Message"], d["status"]) for d in texts] == [("before", "failed"), ("after", "delivered")]
    assert texts[-1]["body"]["MessageId"] == message_id and "sandbox" in texts[0]["reason"]
    assert texts[-1]["body"]["SMSType"] == "Transactional" and texts[-1]["body"]["SenderID"] == "MAMORI"
    # an SMS subscription of a topic delivers the same way
    topic = sns.create_topic(Name="sms-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=number)
    sns.publish(TopicArn=topic, Message=json.dumps({"default": "long text", "sms": "short"}), MessageStructure="json")
    assert outbox(mamori, number)[-1]["body"]["Message"] == "short"
    sns.delete_sms_sandbox_phone_number(PhoneNumber=number)
    with pytest.raises(ClientError) as err:
        sns.delete_sms_sandbox_phone_number(PhoneNumber=number)
    assert code(err) == "ResourceNotFound"
    assert sns.list_origination_numbers()["PhoneNumbers"] == []


def test_platform_applications_and_endpoints(mamori, sns):
    with pytest.raises(ClientError) as err:
        sns.create_platform_application(Name="app", Platform="GCM", Attributes={"PlatformPrincipal": "p"})
    assert code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.create_platform_application(Name="app", Platform="PAGER", Attributes={"PlatformCredential": "k"})
    assert code(err) == "InvalidParameter"
    app = sns.create_platform_application(Name="mobile", Platform="GCM",
                                          Attributes={"PlatformCredential": "server-key"})["PlatformApplicationArn"]
    assert app.endswith(":app/GCM/mobile")
    attrs = sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"]
    assert "PlatformCredential" not in attrs and attrs["Enabled"] == "true"  # the credential is never returned
    sns.set_platform_application_attributes(PlatformApplicationArn=app, Attributes={"SuccessFeedbackSampleRate": "50"})
    assert any(a["PlatformApplicationArn"] == app for a in sns.list_platform_applications()["PlatformApplications"])
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1",
                                            CustomUserData="alice")["EndpointArn"]
    assert sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1",
                                        CustomUserData="alice")["EndpointArn"] == endpoint
    with pytest.raises(ClientError) as err:
        sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1", CustomUserData="bob")
    assert code(err) == "InvalidParameter"
    assert sns.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"] == {
        "Token": "device-1", "CustomUserData": "alice", "Enabled": "true"}
    [listed] = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
    assert listed["EndpointArn"] == endpoint

    sns.publish(TargetArn=endpoint, Message=json.dumps({"default": "hi", "GCM": json.dumps({"data": {"x": 1}})}),
                MessageStructure="json")
    [push] = outbox(mamori, endpoint)
    assert push["status"] == "delivered" and json.loads(push["body"]["Message"]) == {"data": {"x": 1}}
    assert push["body"]["Token"] == "device-1"
    # a topic subscription of the endpoint
    topic = sns.create_topic(Name="push-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=endpoint)
    sns.publish(TopicArn=topic, Message="via topic")
    assert outbox(mamori, endpoint)[-1]["body"]["Message"] == "via topic"

    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    with pytest.raises(ClientError) as err:
        sns.publish(TargetArn=endpoint, Message="x")
    assert code(err) == "EndpointDisabled"
    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "true"})
    sns.set_platform_application_attributes(PlatformApplicationArn=app, Attributes={"Enabled": "false"})
    with pytest.raises(ClientError) as err:
        sns.publish(TargetArn=endpoint, Message="x")
    assert code(err) == "PlatformApplicationDisabled"

    sns.delete_endpoint(EndpointArn=endpoint)
    sns.delete_endpoint(EndpointArn=endpoint)  # idempotent, as AWS
    with pytest.raises(ClientError) as err:
        sns.get_endpoint_attributes(EndpointArn=endpoint)
    assert code(err) == "NotFound"
    sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-2")
    sns.delete_platform_application(PlatformApplicationArn=app)
    with pytest.raises(ClientError) as err:
        sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)
    assert code(err) == "NotFound"


def test_lambda_subscription_is_recorded_as_failed(mamori, sns):
    topic = sns.create_topic(Name="to-lambda")["TopicArn"]
    function = "arn:aws:lambda:us-east-1:000000000000:function:handler"
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)
    sns.publish(TopicArn=topic, Message="hello")
    [record] = outbox(mamori, function)
    assert record["status"] == "failed" and "lambda" in record["reason"].lower()
    assert record["body"]["Message"] == "hello" and record["body"]["Type"] == "Notification"
