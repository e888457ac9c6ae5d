"""An operation that answers without asking for an authorization decision is a bug the
pipeline catches (strict mode, as in tests), and a denied principal gets the service's
own access-denied error."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from mamori.config import Config
from mamori.services.base import Provider
from mamori.testing.plugin import MamoriServer


class ForgetfulSts(Provider):
    """Answers GetCallerIdentity without ever calling ctx.authorize."""

    service = "sts"

    def get_caller_identity(self, ctx, request):
        return {"UserId": "x", "Account": ctx.account_id, "Arn": "arn:aws:iam::000000000000:root"}


@pytest.fixture(scope="module")
def forgetful_server():
    server = MamoriServer.start(Config(ephemeral=True, strict=True), extra_providers={"sts": ForgetfulSts})
    yield server
    server.stop()


def test_operation_without_decision_fails_closed(forgetful_server):
    with pytest.raises(ClientError) as err:
        forgetful_server.client("sts").get_caller_identity()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "without an authorization decision" in err.value.response["Error"]["Message"]


def test_non_root_principal_is_denied_with_aws_message(mamori):
    creds = mamori.create_principal("denied-dave")
    ct = mamori.client("cloudtrail", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as err:
        ct.describe_trails()
    error = err.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:iam::{mamori.account_id}:user/denied-dave is not authorized to perform: "
        "cloudtrail:DescribeTrails because no identity-based policy allows the cloudtrail:DescribeTrails action"
    )
    request_id = err.value.response["ResponseMetadata"]["RequestId"]
    explained = mamori.explain(request_id)
    assert explained["decisions"][0]["action"] == "cloudtrail:DescribeTrails"
    assert explained["decisions"][0]["allowed"] is False
