"""Service models: botocore's JSON models, loaded lazily per service and indexed once.

The models are the single source of truth for shapes, protocols, error codes and
traits. We read the JSON from botocore's data directory ourselves (newest API version),
apply small reviewed patches from `patches/<service>.json` where the model is wrong or
incomplete for a server, and wrap it in botocore's `ServiceModel` (a declared
dependency) for shape resolution.

Nothing here knows about any particular service.
"""

from __future__ import annotations

import gzip
import json
import os
import threading
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

_PATCH_DIR = Path(__file__).with_name("patches")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def data_dir() -> Path:
    spec = find_spec("botocore")
    if spec is None or spec.origin is None:  # pragma: no cover - botocore is a dependency
        raise RuntimeError("botocore is not installed")
    return Path(spec.origin).with_name("data")


@lru_cache(maxsize=1)
def known_services() -> frozenset[str]:
    """Every service botocore has a model for (by its model directory name)."""
    return frozenset(p for p in os.listdir(data_dir()) if (data_dir() / p).is_dir())


def _model_file(service: str) -> Path:
    base = data_dir() / service
    if not base.is_dir():
        raise KeyError(service)
    for version in sorted(os.listdir(base), reverse=True):
        for name in ("service-2.json.gz", "service-2.json"):
            candidate = base / version / name
            if candidate.exists():
                return candidate
    raise KeyError(service)


def load_raw(service: str) -> dict[str, Any]:
    path = _model_file(service)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = json.loads(f.read())
    patch = _PATCH_DIR / f"{service}.json"
    if patch.exists():
        apply_patch(raw, json.loads(patch.read_text()))
    return raw


def apply_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> None:
    """A small subset of RFC 6902: add / replace / remove on '/'-separated paths."""
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        target: Any = doc
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if op["op"] in ("add", "replace"):
            if isinstance(target, list):
                if last == "-":
                    target.append(op["value"])
                elif op["op"] == "add":
                    target.insert(int(last), op["value"])
                else:
                    target[int(last)] = op["value"]
            else:
                target[last] = op["value"]
        elif op["op"] == "remove":
            if isinstance(target, list):
                del target[int(last)]
            else:
                del target[last]
        else:  # pragma: no cover - patches are reviewed files
            raise ValueError(f"unsupported patch op {op['op']!r}")


_models: dict[str, ServiceModel] = {}


def service_model(service: str) -> ServiceModel:
    """The ServiceModel for a botocore service name (e.g. 'sts', 'cloudwatch', 's3')."""
    model = _models.get(service)
    if model is None:
        with _lock:
            model = _models.get(service)
            if model is None:
                model = ServiceModel(load_raw(service), service_name=service)
                _models[service] = model
    return model


_variants: dict[tuple[str, str], ServiceModel] = {}


def protocol_model(service: str, protocol: str) -> ServiceModel:
    """The model a request in `protocol` is read and answered with: the service's own, or,
    where the model lost the traits of an older protocol the service still answers (SQS's
    query wire: `locationName`s, result wrappers), the model with
    `patches/<service>.<protocol>.json` applied on top."""
    key = (service, protocol)
    model = _variants.get(key)
    if model is None:
        patch = _PATCH_DIR / f"{service}.{protocol}.json"
        if patch.exists():
            raw = load_raw(service)
            apply_patch(raw, json.loads(patch.read_text()))
            model = ServiceModel(raw, service_name=service)
        else:
            model = service_model(service)
        with _lock:
            _variants[key] = model
    return model


def operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


def protocols(model: ServiceModel) -> list[str]:
    """The protocols a service accepts, preferred first (CloudWatch: cbor, json, query)."""
    return list(model.metadata.get("protocols") or [model.metadata["protocol"]])


def signing_name(model: ServiceModel) -> str:
    return model.metadata.get("signingName") or model.metadata.get("endpointPrefix") or model.service_name


def is_sensitive(shape: Shape | None) -> bool:
    return bool(shape is not None and shape.serialization.get("sensitive") or getattr(shape, "metadata", {}).get("sensitive"))


__all__ = [
    "OperationModel",
    "ServiceModel",
    "Shape",
    "data_dir",
    "known_services",
    "service_model",
    "protocol_model",
    "operation",
    "protocols",
    "signing_name",
    "is_sensitive",
]
