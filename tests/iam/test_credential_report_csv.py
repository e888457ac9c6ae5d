"""The credential report's CSV, rendered from rows (the pure part)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

from mamori.services.iam.credential_report import COLUMNS, render

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
T1 = datetime(2024, 5, 2, 8, 30, 0, tzinfo=timezone.utc)


def _parse(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_header_is_awss_column_list():
    text = render([])
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert len(COLUMNS) == 22


def test_root_user_row():
    (row,) = _parse(render([{"user": "<root_account>", "arn": "arn:aws:iam::111122223333:root", "root": True,
                             "created": "2024-05-01T12:00:00Z", "mfa": False, "keys": []}]))
    assert row["user"] == "<root_account>"
    assert row["user_creation_time"] == "2024-05-01T12:00:00+00:00"
    assert row["password_enabled"] == "not_supported"
    assert row["password_last_used"] == "no_information"
    assert row["password_last_changed"] == "not_supported"
    assert row["password_next_rotation"] == "not_supported"
    assert row["access_key_1_active"] == "false" and row["access_key_1_last_rotated"] == "N/A"


def test_user_with_password_and_keys():
    rows = [{
        "user": "alice",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "created": T0,
        "password": {"last_used": None, "last_changed": T0, "next_rotation": None},
        "mfa": True,
        "keys": [
            {"active": True, "created": T0, "last_used_date": T1, "last_used_region": "us-east-1", "last_used_service": "s3"},
            {"active": False, "created": T1, "last_used_date": None},
        ],
    }, {"user": "bob", "arn": "arn:aws:iam::111122223333:user/bob", "created": T1, "password": None, "keys": []}]
    alice, bob = _parse(render(rows))
    assert alice["password_enabled"] == "true"
    assert alice["password_last_used"] == "no_information"
    assert alice["password_last_changed"] == "2024-05-01T12:00:00+00:00"
    assert alice["password_next_rotation"] == "N/A"
    assert alice["mfa_active"] == "true"
    assert alice["access_key_1_active"] == "true"
    assert alice["access_key_1_last_used_date"] == "2024-05-02T08:30:00+00:00"
    assert alice["access_key_1_last_used_region"] == "us-east-1"
    assert alice["access_key_1_last_used_service"] == "s3"
    assert alice["access_key_2_active"] == "false"
    assert alice["access_key_2_last_rotated"] == "2024-05-02T08:30:00+00:00"
    assert alice["access_key_2_last_used_date"] == "N/A"
    assert alice["cert_1_active"] == "false" and alice["cert_2_last_rotated"] == "N/A"
    assert bob["password_enabled"] == "false" and bob["password_last_used"] == "N/A"
    assert bob["mfa_active"] == "false"
