"""OpenSearch integrations: one per account, created once, read, listed, deleted."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def test_integration_lifecycle(mamori):
    logs = mamori.client("logs")
    role = f"arn:aws:iam::{mamori.account_id}:role/logs-opensearch"
    config = {"openSearchResourceConfig": {"dataSourceRoleArn": role, "dashboardViewerPrincipals": [role],
                                           "retentionDays": 7}}
    with pytest.raises(ClientError) as exc:
        logs.put_integration(integrationName="dash", integrationType="OPENSEARCH",
                             resourceConfig={"openSearchResourceConfig": {**config["openSearchResourceConfig"],
                                                                          "retentionDays": 31}})
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    out = logs.put_integration(integrationName="dash", integrationType="OPENSEARCH", resourceConfig=config)
    assert out["integrationStatus"] == "ACTIVE"
    try:
        with pytest.raises(ClientError) as exc:
            logs.put_integration(integrationName="second", integrationType="OPENSEARCH", resourceConfig=config)
        assert exc.value.response["Error"]["Code"] == "LimitExceededException"
        got = logs.get_integration(integrationName="dash")
        assert got["integrationType"] == "OPENSEARCH" and got["integrationStatus"] == "ACTIVE"
        collection = got["integrationDetails"]["openSearchIntegrationDetails"]["collection"]
        assert collection["status"]["status"] == "ACTIVE" and collection["collectionEndpoint"].startswith("https://")
        assert logs.list_integrations(integrationNamePrefix="da")["integrationSummaries"] == [
            {"integrationName": "dash", "integrationType": "OPENSEARCH", "integrationStatus": "ACTIVE"}]
        assert logs.list_integrations(integrationNamePrefix="x")["integrationSummaries"] == []
    finally:
        logs.delete_integration(integrationName="dash", force=True)
    with pytest.raises(ClientError) as exc:
        logs.get_integration(integrationName="dash")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        logs.delete_integration(integrationName="dash")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
