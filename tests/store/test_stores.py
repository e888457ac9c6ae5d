"""The stores as engines: transactions and the change log, sealed secrets, the
CloudTrail journal's crash replay."""

from __future__ import annotations

import json
import os
import stat

import pytest

from mamori.store.records import Credential
from mamori.store.resources import ResourceStore
from mamori.store.secrets import SecretBox
from mamori.store.telemetry import JOURNAL_FILE, TelemetryStore


@pytest.fixture(params=["memory", "disk"])
def store(request, tmp_path):
    data_dir = None if request.param == "memory" else tmp_path
    s = ResourceStore.open(data_dir, SecretBox.open(data_dir))
    yield s
    s.close()


def test_put_get_list_delete_and_change_log(store):
    store.put("arn:aws:x:us-east-1:1:thing/a", {"Name": "a"}, kind="x:thing", account_id="1", region="us-east-1")
    store.put("arn:aws:x:us-east-1:1:thing/b", {"Name": "b"}, kind="x:thing", account_id="1", region="us-east-1")
    store.put("arn:aws:x:us-east-1:1:thing/a", {"Name": "a", "v": 2}, kind="x:thing", account_id="1", region="us-east-1")
    assert store.get("arn:aws:x:us-east-1:1:thing/a") == {"Name": "a", "v": 2}
    assert [d["Name"] for d in store.list("x:thing", account_id="1")] == ["a", "b"]
    assert store.list("x:thing", account_id="2") == []
    assert store.delete("arn:aws:x:us-east-1:1:thing/b") and not store.delete("arn:aws:x:us-east-1:1:thing/b")
    actions = [(c["arn"].rsplit("/", 1)[1], c["action"]) for c in store.changes()]
    assert actions == [("a", "create"), ("b", "create"), ("a", "update"), ("b", "delete")]


def test_bookkeeping_writes_stay_out_of_the_change_log(store):
    store.put("arn:aws:x:us-east-1:1:thing/a", {"Name": "a"}, kind="x:thing", account_id="1", region="us-east-1")
    store.put("mamori:x:pending/1", {"n": 1}, kind="x:pending", account_id="1", region="us-east-1", log=False)
    store.put("mamori:x:pending/1", {"n": 2}, kind="x:pending", account_id="1", region="us-east-1", log=False)
    assert store.get("mamori:x:pending/1") == {"n": 2}
    assert store.delete("mamori:x:pending/1", log=False) and store.get("mamori:x:pending/1") is None
    assert [c["arn"] for c in store.changes()] == ["arn:aws:x:us-east-1:1:thing/a"]


def test_transaction_rolls_back_everything(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.put("arn:1", {"a": 1}, kind="k", account_id="1")
            with store.transaction():
                store.put("arn:2", {"a": 2}, kind="k", account_id="1")
            raise RuntimeError("boom")
    assert store.get("arn:1") is None and store.get("arn:2") is None and store.changes() == []


def test_secrets_are_sealed_at_rest(tmp_path):
    box = SecretBox.open(tmp_path)
    assert stat.S_IMODE(os.stat(tmp_path / "root.key").st_mode) == 0o600
    store = ResourceStore.open(tmp_path, box)
    store.put("arn:key", {"KeyId": "k"}, kind="kms:key", account_id="1", secret=b"MATERIAL-0123456789abcdef")
    store.put_credential(Credential("AKIAEXAMPLE", "SECRET-abcdefghijklmnop", "1", {"arn": "arn:aws:iam::1:user/u"}))
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"MATERIAL-0123456789abcdef" not in raw and b"SECRET-abcdefghijklmnop" not in raw
    reopened = ResourceStore.open(tmp_path, SecretBox.open(tmp_path))
    assert reopened.get_secret("arn:key") == b"MATERIAL-0123456789abcdef"
    assert reopened.get_credential("AKIAEXAMPLE").secret_access_key == "SECRET-abcdefghijklmnop"
    reopened.close()


def test_sealed_blob_is_bound_to_its_row(tmp_path):
    box = SecretBox.open(None)
    blob = box.seal(b"x", b"arn:a")
    with pytest.raises(Exception):
        box.open_sealed(blob, b"arn:b")


def _record(n: int, name: str = "GetCallerIdentity") -> dict:
    return {
        "eventID": f"00000000-0000-0000-0000-{n:012d}", "eventName": name, "eventSource": "sts.amazonaws.com",
        "eventTime": "2026-11-28T00:00:00Z", "awsRegion": "us-east-1", "recipientAccountId": "1",
        "readOnly": True, "managementEvent": True, "userIdentity": {"type": "Root"}, "_epoch": 1_795_000_000.0 + n,
    }


def test_journal_is_replayed_after_a_crash(tmp_path):
    store = TelemetryStore.open(tmp_path)
    for n in range(5):
        store.record_event(_record(n))
    # simulate kill -9: nothing flushed or closed, the journal holds the records
    assert (tmp_path / JOURNAL_FILE).stat().st_size > 0
    again = TelemetryStore.open(tmp_path)
    events, _ = again.lookup_events(account_id="1", region="us-east-1", now=1_795_000_100.0, limit=50)
    assert [e["eventID"][-1] for e in events] == ["4", "3", "2", "1", "0"]
    assert (tmp_path / JOURNAL_FILE).stat().st_size == 0
    again.close()


def test_lookup_filters_and_pages():
    store = TelemetryStore.open(None)
    for n in range(7):
        store.record_event(_record(n, "CreateTrail" if n % 2 else "GetTrail"))
    page, cursor = store.lookup_events(account_id="1", region="us-east-1", now=1_795_000_100.0,
                                       attribute=("EventName", "CreateTrail"), limit=2)
    assert [json.dumps(e["eventID"])[-2] for e in page] == ["5", "3"] and cursor
    rest, cursor = store.lookup_events(account_id="1", region="us-east-1", now=1_795_000_100.0,
                                       attribute=("EventName", "CreateTrail"), limit=2, after=cursor)
    assert [e["eventID"][-1] for e in rest] == ["1"] and cursor is None
    store.close()


def _log_rows(telemetry):
    from mamori.store import logs

    logs.sync(telemetry)
    with telemetry.lock:
        return telemetry.connection().execute("SELECT id, ts, message FROM log_events ORDER BY id").fetchall()


def test_log_events_written_behind_are_replayed_from_the_journal(tmp_path):
    """Log events are acknowledged once in the journal; a crash before the writer stored
    them leaves them there, and the next start inserts them, once each."""
    from mamori.store import logs

    store = TelemetryStore.open(tmp_path)
    logs.append(store, "1", "r", "g", "s", [10, 11], ["a", "b"], 99)
    assert _log_rows(store) == [(1, 10, "a"), (2, 11, "b")]
    store.close()
    # What a crash leaves: a batch the writer had stored, one it had not, a torn line.
    lines = [json.dumps([1, "1", "r", "g", "s", 99, [10, 11], ["a", "b"]]),
             json.dumps([3, "1", "r", "g", "s", 99, [12, 13], ["c", "d"]]),
             '[5, "1", "r", "g", "s", 99, [14]']
    (tmp_path / logs.JOURNAL).write_text("\n".join(lines))
    again = TelemetryStore.open(tmp_path)
    logs.ensure(again)
    assert _log_rows(again) == [(1, 10, "a"), (2, 11, "b"), (3, 12, "c"), (4, 13, "d")]
    assert (tmp_path / logs.JOURNAL).stat().st_size == 0
    assert logs.append(again, "1", "r", "g", "s", [15], ["e"], 99) == 5  # ids go on after the replayed ones
    assert _log_rows(again)[-1] == (5, 15, "e")
    again.close()


def test_full_journal_loads_behind_and_a_crash_mid_load_is_replayed(tmp_path):
    """A full batch is set aside and loaded by a thread while records go on; a file set
    aside and never loaded (a crash mid-load) is loaded at the next start, once."""
    from mamori.store.telemetry import BATCH, LOADING_SUFFIX

    now = 1_795_000_000.0 + BATCH + 100
    store = TelemetryStore.open(tmp_path)
    for n in range(BATCH + 5):
        store.record_event(_record(n))
    events, _ = store.lookup_events(account_id="1", region="us-east-1", now=now, limit=50)
    assert len(events) == 50 and events[0]["eventID"].endswith(f"{BATCH + 4:012d}")
    store.close()
    journal, aside = tmp_path / JOURNAL_FILE, tmp_path / (JOURNAL_FILE + LOADING_SUFFIX)
    assert not aside.exists() and journal.stat().st_size == 0
    # kill -9 with a set-aside journal not yet loaded and records in the new journal
    store = TelemetryStore.open(tmp_path)
    for n in range(BATCH + 10, BATCH + 13):
        store.record_event(_record(n))
    os.replace(journal, aside)
    store.record_event(_record(BATCH + 20))  # the fd still points at the set-aside file
    journal.write_bytes(b"")
    again = TelemetryStore.open(tmp_path)
    events, _ = again.lookup_events(account_id="1", region="us-east-1", now=now, limit=10)
    suffixes = [e["eventID"][-4:] for e in events]
    assert suffixes[:4] == [f"{n:04d}" for n in (BATCH + 20, BATCH + 12, BATCH + 11, BATCH + 10)]
    assert len(set(e["eventID"] for e in events)) == len(events) and not aside.exists()
    again.close()
