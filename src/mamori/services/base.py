"""Provider base class and discovery.

A service is a folder `services/<name>/` with a `provider.py` that defines one subclass
of `Provider`. Its methods are the operations, named in snake_case after the AWS
operation (`GetCallerIdentity` -> `get_caller_identity`), each `(ctx, request) ->
response`. Operations of the model without a method answer `NotImplemented` (501).
Adding a service is adding a folder: the registry finds it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

from mamori.protocol.model import ServiceModel, service_model

if TYPE_CHECKING:  # pragma: no cover
    from mamori.runtime import Runtime

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")


@lru_cache(maxsize=None)
def snake_case(name: str) -> str:
    """'GetCallerIdentity' -> 'get_caller_identity', 'ListMFADevices' ->
    'list_mfa_devices', 'DescribeDBInstances' -> 'describe_db_instances'."""
    return _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", name)).lower()


class Provider:
    """Base class of a service provider.

    `service` is the botocore service name (the model directory: 'sts', 'cloudtrail',
    'cloudwatch'). `setup()` runs once when the runtime starts (subscribe to the bus,
    register scheduled work); `reset()` runs on `mamori reset`.
    """

    service: str = ""

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime

    def setup(self) -> None:
        """Called once at start, after the stores are open."""

    @property
    def model(self) -> ServiceModel:
        return service_model(self.service)

    def handler(self, operation: str) -> Callable[..., Any] | None:
        method = getattr(self, snake_case(operation), None)
        return method if callable(method) else None

    def implemented_operations(self) -> list[str]:
        return [op for op in self.model.operation_names if self.handler(op) is not None]


def discover() -> dict[str, type[Provider]]:
    """service name -> Provider class, from every `services/<name>/provider.py`."""
    import mamori.services as package

    found: dict[str, type[Provider]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"{package.__name__}.{info.name}.provider")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package.__name__}.{info.name}.provider":
                continue
            raise
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Provider) and obj is not Provider and obj.__module__ == module.__name__:
                found[obj.service] = obj
    return found
