"""CloudWatch clients that speak a chosen protocol.

botocore picks one protocol from the model's `protocols` list; to test all three that
CloudWatch speaks (CBOR, JSON 1.0, query) a client is built from a copy of the model
whose `protocols` names only the one under test (a data path searched before
botocore's own)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.loaders import Loader

PROTOCOLS = ("smithy-rpc-v2-cbor", "json", "query")


def _data_path(root: Path, protocol: str) -> Path:
    path = root / protocol
    target = path / "cloudwatch" / "2010-08-01"
    if not (target / "service-2.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        raw = Loader().load_service_model("cloudwatch", "service-2")
        raw["metadata"]["protocol"] = protocol
        raw["metadata"]["protocols"] = [protocol]
        (target / "service-2.json").write_text(json.dumps(raw))
    return path


@pytest.fixture(scope="session")
def cw_models(tmp_path_factory):
    return tmp_path_factory.mktemp("cw-models")


def client_for(mamori, models: Path, protocol: str, **kwargs):
    session = botocore.session.Session()
    loader = session.get_component("data_loader")
    loader.search_paths.insert(0, str(_data_path(models, protocol)))
    kwargs.setdefault("endpoint_url", mamori.endpoint_url)
    kwargs.setdefault("region_name", mamori.region)
    kwargs.setdefault("aws_access_key_id", mamori.access_key_id)
    kwargs.setdefault("aws_secret_access_key", mamori.secret_access_key)
    kwargs.setdefault("config", Config(retries={"max_attempts": 1}))
    client = boto3.Session(botocore_session=session).client("cloudwatch", **kwargs)
    assert client.meta.service_model.protocol == protocol
    return client


@pytest.fixture(params=PROTOCOLS, ids=["cbor", "json", "query"])
def cw(request, mamori, cw_models):
    """A CloudWatch client in each of the three protocols."""
    return client_for(mamori, cw_models, request.param)


@pytest.fixture
def cw_json(mamori, cw_models):
    return client_for(mamori, cw_models, "json")
