"""kms:ViaService: a service calling KMS on its caller's behalf (forward access session),
with a small stand-in EC2 provider that encrypts through KMS as EBS does. Everything
else is the real server: IAM, KMS, the pipeline."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from mamori.services.base import Provider
from mamori.testing.plugin import MamoriServer


class VolumesStandIn(Provider):
    service = "ec2"

    def create_volume(self, ctx, request):
        ctx.authorize("ec2:CreateVolume")
        self.runtime.invoke("kms", "GenerateDataKeyWithoutPlaintext",
                            {"KeyId": request["KmsKeyId"], "KeySpec": "AES_256"}, parent=ctx, via="ec2.amazonaws.com")
        return {"VolumeId": "vol-0abc", "Size": 1}


@pytest.fixture(scope="module")
def server():
    srv = MamoriServer.start(extra_providers={"ec2": VolumesStandIn})
    try:
        yield srv
    finally:
        srv.stop()


def test_key_usable_only_via_ec2(server):
    iam, kms = server.client("iam"), server.client("kms")
    name = f"via-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    keys = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:CreateVolume", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:GenerateDataKeyWithoutPlaintext", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": f"ec2.{server.region}.amazonaws.com"}}}]}))
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    as_user = {"aws_access_key_id": keys["AccessKeyId"], "aws_secret_access_key": keys["SecretAccessKey"]}
    with pytest.raises(ClientError) as e:
        server.client("kms", **as_user).generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert server.client("ec2", **as_user).create_volume(AvailabilityZone="us-east-1a", Size=1,
                                                        KmsKeyId=key_id)["VolumeId"] == "vol-0abc"
