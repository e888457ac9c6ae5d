"""IAM decisions on Logs calls: log group ARNs and the tag condition keys."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def test_tag_conditions(mamori):
    logs, iam = mamori.client("logs"), mamori.client("iam")
    tag = uuid.uuid4().hex[:6]
    mine, theirs = f"/team-a/{tag}", f"/team-b/{tag}"
    logs.create_log_group(logGroupName=mine, tags={"team": "a"})
    logs.create_log_group(logGroupName=theirs, tags={"team": "b"})
    user = f"logs-user-{tag}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "logs:PutRetentionPolicy", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "a"}}},
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:TagResource"],
         "Resource": "arn:aws:logs:us-east-1:000000000000:log-group:/team-a/*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "a"}}},
    ]}))
    user_logs = mamori.client("logs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    user_logs.put_retention_policy(logGroupName=mine, retentionInDays=30)
    with pytest.raises(ClientError) as exc:
        user_logs.put_retention_policy(logGroupName=theirs, retentionInDays=30)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "logs:PutRetentionPolicy" in exc.value.response["Error"]["Message"]
    user_logs.create_log_group(logGroupName=f"/team-a/new-{tag}", tags={"team": "a"})
    with pytest.raises(ClientError) as exc:
        user_logs.create_log_group(logGroupName=f"/team-a/other-{tag}", tags={"team": "b"})
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        user_logs.create_log_group(logGroupName=f"/team-b/new-{tag}", tags={"team": "a"})
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    for name in (mine, theirs, f"/team-a/new-{tag}"):
        logs.delete_log_group(logGroupName=name)
