"""CloudWatch clients that speak a chosen protocol.

botocore picks one protocol from the model's `protocols` list; to test all three that
CloudWatch speaks (CBOR, JSON 1.0, query) a client is built from a copy of the model
whose `protocols` names only the one under test (a data path searched before
botocore's own)."""

from __future__ import annotations

import pytest

from cw_clients import PROTOCOLS, client_for


@pytest.fixture(scope="session")
def cw_models(tmp_path_factory):
    return tmp_path_factory.mktemp("cw-models")


@pytest.fixture(params=PROTOCOLS, ids=["cbor", "json", "query"])
def cw(request, mamori, cw_models):
    """A CloudWatch client in each of the three protocols."""
    return client_for(mamori, cw_models, request.param)


@pytest.fixture
def cw_json(mamori, cw_models):
    return client_for(mamori, cw_models, "json")
