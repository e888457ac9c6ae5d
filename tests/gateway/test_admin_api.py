"""The admin API: health is open, everything else needs the root credentials."""

from __future__ import annotations

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def test_health_needs_no_auth(mamori):
    resp = requests.get(mamori.endpoint_url + "/_mamori/health", timeout=10)
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["status"] == "ok"
    assert {"sts", "cloudtrail"} <= set(doc["services"])


def test_unsigned_admin_call_is_refused(mamori):
    resp = requests.post(mamori.endpoint_url + "/_mamori/reset", json={}, timeout=10)
    assert resp.status_code == 403
    # and nothing was reset: the root identity still answers
    assert mamori.client("sts").get_caller_identity()["Account"] == mamori.account_id


def test_non_root_admin_call_is_refused(mamori):
    creds = mamori.create_principal("admin-mallory")
    url = mamori.endpoint_url + "/_mamori/clock"
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), "mamori", mamori.region).add_auth(req)
    resp = requests.get(url, headers=dict(req.prepare().headers), timeout=10)
    assert resp.status_code == 403


def test_clock_freeze_advance_resume(mamori, mamori_clock):
    frozen = mamori_clock.freeze("2030-01-01T00:00:00Z")
    assert frozen["frozen"] is True
    assert frozen["now"].startswith("2030-01-01T00:00:00")
    advanced = mamori_clock.advance("1h30m")
    assert advanced["now"].startswith("2030-01-01T01:30:00")
    resumed = mamori_clock.resume()
    assert resumed["frozen"] is False
    assert resumed["epoch"] >= advanced["epoch"]


def test_state_export_is_json(mamori):
    doc = mamori.admin("GET", "state")
    assert "resources" in doc and "clock" in doc
