"""The query protocol SQS answered before JSON (older SDKs, `Action=SendMessage` form
posts, XML answers): a hand-built SigV4-signed request, and a boto3 client driven by
SQS's last query-protocol model when one is on the machine."""

from __future__ import annotations

import os
import shutil
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}
OLD_MODEL = "/usr/lib/google-cloud-sdk/lib/third_party/botocore/data/sqs/2012-11-05/service-2.json"


def _query(mamori, params: dict[str, str], path: str = "/") -> requests.Response:
    url = mamori.endpoint_url + path
    body = "&".join(f"{k}={requests.utils.quote(str(v), safe='')}" for k, v in
                    {"Version": "2012-11-05", **params}.items())
    req = AWSRequest(method="POST", url=url, data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(mamori.access_key_id, mamori.secret_access_key), "sqs", mamori.region).add_auth(req)
    return requests.post(url, data=body, headers=dict(req.prepare().headers), timeout=30)


def _xml(resp: requests.Response) -> ET.Element:
    return ET.fromstring(resp.content)


def test_hand_signed_query_requests(mamori):
    name = f"query-{uuid.uuid4().hex[:8]}"
    created = _query(mamori, {"Action": "CreateQueue", "QueueName": name, "Attribute.1.Name": "VisibilityTimeout",
                              "Attribute.1.Value": "45", "Tag.1.Key": "team", "Tag.1.Value": "blue"})
    assert created.status_code == 200, created.text
    url = _xml(created).findtext("q:CreateQueueResult/q:QueueUrl", namespaces=NS)
    assert url.endswith("/" + name)
    assert _xml(created).findtext("q:ResponseMetadata/q:RequestId", namespaces=NS)

    sent = _query(mamori, {"Action": "SendMessage", "QueueUrl": url, "MessageBody": "hello query & <xml>",
                           "MessageAttribute.1.Name": "color", "MessageAttribute.1.Value.DataType": "String",
                           "MessageAttribute.1.Value.StringValue": "red"}, path="/" + url.split("/", 3)[3])
    assert sent.status_code == 200, sent.text
    result = _xml(sent).find("q:SendMessageResult", NS)
    message_id = result.findtext("q:MessageId", namespaces=NS)
    assert result.findtext("q:MD5OfMessageAttributes", namespaces=NS)

    got = _query(mamori, {"Action": "ReceiveMessage", "QueueUrl": url, "AttributeName.1": "All",
                          "MessageAttributeName.1": "All", "MaxNumberOfMessages": "5"})
    assert got.status_code == 200, got.text
    message = _xml(got).find("q:ReceiveMessageResult/q:Message", NS)
    assert message.findtext("q:MessageId", namespaces=NS) == message_id
    assert message.findtext("q:Body", namespaces=NS) == "hello query & <xml>"
    system = {a.findtext("q:Name", namespaces=NS): a.findtext("q:Value", namespaces=NS)
              for a in message.findall("q:Attribute", NS)}
    assert system["ApproximateReceiveCount"] == "1"
    attribute = message.find("q:MessageAttribute", NS)
    assert attribute.findtext("q:Name", namespaces=NS) == "color"
    assert attribute.findtext("q:Value/q:StringValue", namespaces=NS) == "red"

    attrs = _query(mamori, {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "VisibilityTimeout",
                            "AttributeName.2": "ApproximateNumberOfMessagesNotVisible"})
    values = {a.findtext("q:Name", namespaces=NS): a.findtext("q:Value", namespaces=NS)
              for a in _xml(attrs).findall("q:GetQueueAttributesResult/q:Attribute", NS)}
    assert values == {"VisibilityTimeout": "45", "ApproximateNumberOfMessagesNotVisible": "1"}

    handle = message.findtext("q:ReceiptHandle", namespaces=NS)
    deleted = _query(mamori, {"Action": "DeleteMessageBatch", "QueueUrl": url,
                              "DeleteMessageBatchRequestEntry.1.Id": "one",
                              "DeleteMessageBatchRequestEntry.1.ReceiptHandle": handle})
    entries = _xml(deleted).findall("q:DeleteMessageBatchResult/q:DeleteMessageBatchResultEntry", NS)
    assert [e.findtext("q:Id", namespaces=NS) for e in entries] == ["one"]
    tags = _query(mamori, {"Action": "ListQueueTags", "QueueUrl": url})
    assert [(t.findtext("q:Key", namespaces=NS), t.findtext("q:Value", namespaces=NS))
            for t in _xml(tags).findall("q:ListQueueTagsResult/q:Tag", NS)] == [("team", "blue")]


def test_query_errors_use_the_query_codes(mamori):
    missing = f"{mamori.endpoint_url}/{mamori.account_id}/nope-{uuid.uuid4().hex[:8]}"
    resp = _query(mamori, {"Action": "GetQueueAttributes", "QueueUrl": missing, "AttributeName.1": "All"})
    assert resp.status_code == 400
    error = _xml(resp).find("q:Error", NS)
    assert error.findtext("q:Code", namespaces=NS) == "AWS.SimpleQueueService.NonExistentQueue"
    assert error.findtext("q:Type", namespaces=NS) == "Sender"
    resp = _query(mamori, {"Action": "NoSuchAction"})
    assert resp.status_code == 400 and _xml(resp).findtext("q:Error/q:Code", namespaces=NS) == "InvalidAction"


@pytest.mark.skipif(not os.path.exists(OLD_MODEL), reason="no query-protocol SQS model on this machine")
def test_boto3_with_the_query_protocol_model(mamori, tmp_path):
    import botocore.session

    target = tmp_path / "sqs" / "2012-11-05"
    target.mkdir(parents=True)
    shutil.copy(OLD_MODEL, target / "service-2.json")
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path))
    sqs = session.create_client("sqs", endpoint_url=mamori.endpoint_url, region_name=mamori.region,
                                aws_access_key_id=mamori.access_key_id,
                                aws_secret_access_key=mamori.secret_access_key)
    assert sqs.meta.service_model.protocol == "query"
    url = sqs.create_queue(QueueName=f"oldsdk-{uuid.uuid4().hex[:8]}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "first", "MessageGroupId": "g",
         "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "1"},
                               "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}}},
        {"Id": "b", "MessageBody": "second", "MessageGroupId": "g"}])
    assert [e["Id"] for e in batch["Successful"]] == ["a", "b"]  # botocore checked the MD5s
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                               MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in msgs] == ["first", "second"]
    assert msgs[0]["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\xff"
    assert msgs[1]["Attributes"]["MessageGroupId"] == "g"
    assert url in sqs.list_queues(QueueNamePrefix="oldsdk-")["QueueUrls"]
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="nope-" + uuid.uuid4().hex[:8])


def test_query_request_posted_to_the_queue_url_without_queue_url_parameter(mamori):
    """Some SDKs (AWS SDK for Java 1.x) post to the queue's URL and leave QueueUrl out."""
    name = f"pathq-{uuid.uuid4().hex[:8]}"
    url = _xml(_query(mamori, {"Action": "CreateQueue", "QueueName": name})).findtext(
        "q:CreateQueueResult/q:QueueUrl", namespaces=NS)
    path = "/" + url.split("/", 3)[3]
    sent = _query(mamori, {"Action": "SendMessage", "MessageBody": "by path"}, path=path)
    assert sent.status_code == 200, sent.text
    got = _query(mamori, {"Action": "ReceiveMessage"}, path=path)
    assert _xml(got).findtext("q:ReceiveMessageResult/q:Message/q:Body", namespaces=NS) == "by path"
    missing = _query(mamori, {"Action": "SendMessage", "MessageBody": "x"}, path=f"/{mamori.account_id}/nope-{name}")
    assert _xml(missing).findtext("q:Error/q:Code", namespaces=NS) == "AWS.SimpleQueueService.NonExistentQueue"


@pytest.mark.skipif(not os.path.exists(OLD_MODEL), reason="no query-protocol SQS model on this machine")
def test_query_wire_names_match_the_last_query_model():
    """The wire names derived by rule (patches/sqs.query.json) are the ones SQS's last
    query-protocol model carried, for every shape both models have."""
    import json

    from mamori.protocol.model import protocol_model

    old = json.load(open(OLD_MODEL))
    ours = protocol_model("sqs", "query")
    checked = 0
    for name, shape in old["shapes"].items():
        if name not in ours.shape_names:
            continue
        mine = ours._shape_resolver.get_shape_by_name(name)
        for part in ("member", "key", "value"):
            if part in shape:
                assert getattr(mine, part).serialization.get("name") == shape[part].get("locationName"), (name, part)
                checked += 1
        for member, ref in shape.get("members", {}).items():
            got = mine.members[member].serialization
            # a member's wire name: its own locationName, else its shape's (botocore merges them)
            expected = ref.get("locationName") or old["shapes"][ref["shape"]].get("locationName")
            assert got.get("name") == expected, (name, member)
            checked += 1
        assert bool(mine.serialization.get("flattened")) == bool(shape.get("flattened")), name
    for op_name, op in old["operations"].items():
        if "output" in op:
            assert ours.operation_model(op_name).output_shape.serialization.get("resultWrapper") == \
                op["output"].get("resultWrapper")
            checked += 1
    assert checked > 100
