"""boto3 CloudWatch clients that speak one chosen protocol (see conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import botocore.session
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
