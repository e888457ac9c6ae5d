"""Alarm tests: clients in the protocols the acceptance names for the state tables
(CBOR and query), built by ../cw_clients.py (a copy of the model naming one protocol)."""

from __future__ import annotations

import pytest

from cw_clients import client_for


@pytest.fixture(params=["smithy-rpc-v2-cbor", "query"], ids=["cbor", "query"])
def cw2(request, mamori, cw_models):
    """A CloudWatch client in CBOR, then in query."""
    return client_for(mamori, cw_models, request.param)
