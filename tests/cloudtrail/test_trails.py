"""Trails through boto3: lifecycle, validation and errors as AWS answers them."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError


def name(prefix="trail"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def code(err):
    return err.value.response["Error"]["Code"]


def test_trail_lifecycle(mamori):
    ct = mamori.client("cloudtrail")
    trail = name()
    created = ct.create_trail(Name=trail, S3BucketName="audit-bucket", TagsList=[{"Key": "team", "Value": "sec"}])
    arn = f"arn:aws:cloudtrail:{mamori.region}:{mamori.account_id}:trail/{trail}"
    assert created["TrailARN"] == arn and created["S3BucketName"] == "audit-bucket"
    got = ct.get_trail(Name=trail)["Trail"]
    assert got["HomeRegion"] == mamori.region and got["IsMultiRegionTrail"] is False
    assert ct.get_trail(Name=arn)["Trail"]["Name"] == trail
    assert trail in [t["Name"] for t in ct.describe_trails()["trailList"]]
    assert arn in [t["TrailARN"] for t in ct.list_trails()["Trails"]]

    updated = ct.update_trail(Name=trail, S3KeyPrefix="logs", EnableLogFileValidation=True)
    assert updated["S3KeyPrefix"] == "logs" and updated["LogFileValidationEnabled"] is True

    assert ct.get_trail_status(Name=trail)["IsLogging"] is False
    ct.start_logging(Name=trail)
    status = ct.get_trail_status(Name=trail)
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    ct.stop_logging(Name=trail)
    assert ct.get_trail_status(Name=trail)["IsLogging"] is False

    ct.delete_trail(Name=trail)
    with pytest.raises(ClientError) as err:
        ct.get_trail(Name=trail)
    assert code(err) == "TrailNotFoundException"
    assert err.value.response["Error"]["Message"] == f"Unknown trail: {trail} for the user: {mamori.account_id}"


def test_duplicate_trail(mamori):
    ct = mamori.client("cloudtrail")
    trail = name()
    ct.create_trail(Name=trail, S3BucketName="b")
    with pytest.raises(ClientError) as err:
        ct.create_trail(Name=trail, S3BucketName="b")
    assert code(err) == "TrailAlreadyExistsException"


@pytest.mark.parametrize("bad", ["-starts-with-dash", "ends-with-dash-", "has space", "a..b", "10.0.0.1", "a_-b"])
def test_invalid_trail_names(mamori, bad):
    with pytest.raises(ClientError) as err:
        mamori.client("cloudtrail").create_trail(Name=bad, S3BucketName="b")
    assert code(err) == "InvalidTrailNameException"


def test_multi_region_trail_is_visible_in_other_regions_but_managed_at_home(mamori):
    home = mamori.client("cloudtrail")
    trail = name("global")
    home.create_trail(Name=trail, S3BucketName="b", IsMultiRegionTrail=True)
    away = mamori.client("cloudtrail", region_name="eu-west-1")
    names = [t["Name"] for t in away.describe_trails()["trailList"]]
    assert trail in names
    assert trail not in [t["Name"] for t in away.describe_trails(includeShadowTrails=False)["trailList"]]
    with pytest.raises(ClientError) as err:
        away.delete_trail(Name=trail)
    assert code(err) == "InvalidHomeRegionException"


def test_event_selectors(mamori):
    ct = mamori.client("cloudtrail")
    trail = name()
    ct.create_trail(Name=trail, S3BucketName="b")
    default = ct.get_event_selectors(TrailName=trail)["EventSelectors"]
    assert default[0]["ReadWriteType"] == "All" and default[0]["IncludeManagementEvents"] is True
    ct.put_event_selectors(TrailName=trail, EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])
    got = ct.get_event_selectors(TrailName=trail)
    assert got["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    assert ct.get_trail(Name=trail)["Trail"]["HasCustomEventSelectors"] is True
    advanced = [{"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    ct.put_event_selectors(TrailName=trail, AdvancedEventSelectors=advanced)
    assert ct.get_event_selectors(TrailName=trail)["AdvancedEventSelectors"] == advanced


def test_tags(mamori):
    ct = mamori.client("cloudtrail")
    trail = name()
    arn = ct.create_trail(Name=trail, S3BucketName="b")["TrailARN"]
    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "ci"}, {"Key": "owner", "Value": "me"}])
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "owner"}])
    listed = ct.list_tags(ResourceIdList=[arn])["ResourceTagList"]
    assert listed == [{"ResourceId": arn, "TagsList": [{"Key": "env", "Value": "ci"}]}]
    with pytest.raises(ClientError) as err:
        ct.list_tags(ResourceIdList=[arn + "-missing"])
    assert code(err) == "ResourceNotFoundException"
