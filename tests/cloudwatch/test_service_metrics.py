"""The AWS/... metrics mamori publishes about itself, end to end through boto3 and the
clock: AWS/Usage CallCount per API operation, AWS/Logs IncomingLogEvents and
IncomingBytes per log group and for the account, and a Logs metric filter publishing
into CloudWatch (the hook the Logs service calls)."""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timezone

_n = itertools.count()


def _freeze_in_minute(mamori_clock) -> float:
    """Freeze the clock 5 s into a minute; return that minute's start."""
    minute = math.floor(mamori_clock.now() / 60) * 60 + 60
    mamori_clock.freeze(minute + 5)
    return minute


def _sum(cw, namespace, name, dims, minute) -> tuple[float, set]:
    """(Sum, units) of a metric over one minute. Tests share the server and the clock
    goes back to real time after each, so the same minute can come back: compare a
    minute's sum before and after."""
    out = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=dims,
                                   StartTime=datetime.fromtimestamp(minute, timezone.utc),
                                   EndTime=datetime.fromtimestamp(minute + 60, timezone.utc), Period=60,
                                   Statistics=["Sum"])
    return sum(p["Sum"] for p in out["Datapoints"]), {p.get("Unit") for p in out["Datapoints"]}


def test_call_count_per_operation(mamori, mamori_clock, cw_json):
    cw = cw_json
    kms = mamori.client("kms")
    minute = _freeze_in_minute(mamori_clock)
    dims = [{"Name": "Service", "Value": "KMS"}, {"Name": "Type", "Value": "API"},
            {"Name": "Resource", "Value": "ListKeys"}, {"Name": "Class", "Value": "None"}]
    mine = [{"Name": "Service", "Value": "CloudWatch"}, {"Name": "Type", "Value": "API"},
            {"Name": "Resource", "Value": "ListDashboards"}, {"Name": "Class", "Value": "None"}]
    mamori_clock.advance(60)  # whatever an earlier test did in this minute is published
    before, before_mine = _sum(cw, "AWS/Usage", "CallCount", dims, minute)[0], _sum(cw, "AWS/Usage", "CallCount", mine, minute)[0]
    mamori_clock.freeze(minute + 5)
    for _ in range(3):
        kms.list_keys()
    cw.list_dashboards()
    mamori_clock.advance(60)  # the minute is over: its counts are published
    assert _sum(cw, "AWS/Usage", "CallCount", dims, minute) == (before + 3.0, {"None"})
    assert _sum(cw, "AWS/Usage", "CallCount", mine, minute) == (before_mine + 1.0, {"None"})
    listed = cw.list_metrics(Namespace="AWS/Usage", MetricName="CallCount",
                             Dimensions=[{"Name": "Resource", "Value": "ListKeys"}])["Metrics"]
    assert [sorted(d["Name"] for d in m["Dimensions"]) for m in listed] == [["Class", "Resource", "Service", "Type"]]
    # a minute without ListKeys calls has no datapoint (AWS sends none for nothing)
    assert _sum(cw, "AWS/Usage", "CallCount", dims, minute + 120) == (0, set())


def test_incoming_log_events_and_bytes(mamori, mamori_clock, cw_json):
    cw, logs = cw_json, mamori.client("logs")
    group = f"/mamori/incoming-{next(_n)}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    minute = _freeze_in_minute(mamori_clock)
    now_ms = int((minute + 5) * 1000)
    messages = ["hello", "héllo wörld", "x" * 100]
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now_ms, "message": m} for m in messages])
    mamori_clock.advance(60)
    size = float(sum(len(m.encode()) for m in messages))
    dims = [{"Name": "LogGroupName", "Value": group}]
    assert _sum(cw, "AWS/Logs", "IncomingLogEvents", dims, minute) == (3.0, {"None"})
    assert _sum(cw, "AWS/Logs", "IncomingBytes", dims, minute) == (size, {"Bytes"})
    events, units = _sum(cw, "AWS/Logs", "IncomingLogEvents", [], minute)  # the account, all groups
    assert events >= 3.0 and units == {"None"}


def test_counts_survive_a_long_clock_advance(mamori, mamori_clock, cw_json):
    cw = cw_json
    minute = _freeze_in_minute(mamori_clock)
    dims = [{"Name": "Service", "Value": "CloudWatch"}, {"Name": "Type", "Value": "API"},
            {"Name": "Resource", "Value": "DescribeAnomalyDetectors"}, {"Name": "Class", "Value": "None"}]
    mamori_clock.advance(60)
    before = _sum(cw, "AWS/Usage", "CallCount", dims, minute)[0]
    mamori_clock.freeze(minute + 5)
    for _ in range(2):
        cw.describe_anomaly_detectors()
    mamori_clock.advance(3 * 3600)  # the runs in between are skipped, the last one covers the gap
    assert _sum(cw, "AWS/Usage", "CallCount", dims, minute)[0] == before + 2.0


def test_metric_filter_publishes_into_cloudwatch(mamori, mamori_clock, cw_json):
    cw, logs = cw_json, mamori.client("logs")
    k = next(_n)
    group, namespace = f"/mamori/filtered-{k}", f"Mamori/Filtered{k}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=[{"metricName": "Errors", "metricNamespace": namespace, "metricValue": "1"}])
    minute = _freeze_in_minute(mamori_clock)
    ts = int((minute + 5) * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": ts, "message": "ERROR one"}, {"timestamp": ts, "message": "fine"}, {"timestamp": ts, "message": "ERROR two"}])
    assert _sum(cw, namespace, "Errors", [], minute)[0] == 2.0


def test_seconds_until_key_material_expiration(mamori, mamori_clock, cw_json):
    import os

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    cw, kms = cw_json, mamori.client("kms")
    minute = _freeze_in_minute(mamori_clock)
    key = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(KeyId=key, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    public = serialization.load_der_public_key(params["PublicKey"])
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    kms.import_key_material(KeyId=key, ImportToken=params["ImportToken"], EncryptedKeyMaterial=public.encrypt(os.urandom(32), oaep),
                            ValidTo=datetime.fromtimestamp(minute + 5 + 86400, timezone.utc))
    mamori_clock.advance(60)  # the job at minute + 60 reports the minute that ended
    out = cw.get_metric_statistics(Namespace="AWS/KMS", MetricName="SecondsUntilKeyMaterialExpiration",
                                   Dimensions=[{"Name": "KeyId", "Value": key}],
                                   StartTime=datetime.fromtimestamp(minute, timezone.utc),
                                   EndTime=datetime.fromtimestamp(minute + 60, timezone.utc), Period=60, Statistics=["Minimum"])
    [point] = out["Datapoints"]
    assert point["Minimum"] == 86400.0 - 60 and point["Unit"] == "Seconds"
