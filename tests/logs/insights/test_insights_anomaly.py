"""The Insights `anomaly` command over a generated day of logs: a quiet day with steady
patterns, then in its last hour a burst of a new error, a spike of a warning, a new HTTP
status code, slower database queries, and a job that stops. The expected anomalies and
their scores are computed here from the events and the documented model
(services/logs/insights/anomalies.py), not by mamori's engine."""

from __future__ import annotations

import math
import statistics
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.logs.insights.conftest import run_query

HOUR = 3_600_000
DAY = 24 * HOUR


def poisson_upper(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed term by term."""
    return 1.0 - sum(math.exp(-lam) * lam ** j / math.factorial(j) for j in range(k))


def binomial(n: int, q: float, ks) -> float:
    """P(X in ks) for X ~ Binomial(n, q)."""
    return sum(math.comb(n, j) * q ** j * (1 - q) ** (n - j) for j in ks)


def priority(severity_points: int, score: float) -> str:
    points = severity_points + (2 if score >= 10 else 1 if score >= 4 else 0)
    return "HIGH" if points >= 3 else "MEDIUM" if points == 2 else "LOW"


@pytest.fixture(scope="module")
def day(mamori):
    logs = mamori.client("logs")
    group = f"/anomaly/{uuid.uuid4().hex[:8]}"
    now = int(mamori.admin("GET", "clock")["epoch"] * 1000)
    start = now - now % 1000 - DAY - HOUR
    mamori.admin("POST", "clock", {"action": "freeze", "at": (start - HOUR) / 1000})
    try:
        logs.create_log_group(logGroupName=group)
    finally:
        mamori.admin("POST", "clock", {"action": "reset"})
    events: list[tuple[int, str]] = []
    for m in range(0, 24 * 60, 2):  # steady: a request every 2 minutes
        events.append((start + m * 60_000, f"INFO request r{m:04x}a served in {10 + m % 37} ms"))
    for m in range(0, 24 * 60, 5):  # steady: heartbeats of three workers
        events.append((start + m * 60_000 + 7, f"DEBUG heartbeat from worker-{m // 5 % 3 + 1}"))
    for m in range(0, 24 * 60, 3):  # steady: three success codes
        events.append((start + m * 60_000 + 11, f"GET /api/items status {(200, 201, 204)[m // 3 % 3]}"))
    for h in range(23):  # a warning once an hour...
        events.append((start + h * HOUR + 13, f"WARN cache miss for key k{h}x"))
    for i in range(30):  # ...then 30 in the last hour
        events.append((start + 23 * HOUR + 60_000 + i * 1000, f"WARN cache miss for key k{100 + i}x"))
    for h in range(23):  # a job finishing 10 times an hour, none in the last hour
        for i in range(10):
            events.append((start + h * HOUR + 17 + i * 300_000, f"INFO job j{h * 10 + i} finished"))
    for h in range(24):  # query times around 40 ms, 10 an hour; about 125 ms in the last hour
        for i in range(10):
            took = 120 + i if h == 23 else 20 + (h * 10 + i) * 7 % 41
            events.append((start + h * HOUR + 19 + i * 360_000, f"INFO db query took {took} ms"))
    for i in range(40):  # new in the last hour: a burst of payment errors
        events.append((start + 23 * HOUR + 120_000 + i * 500, f"ERROR payment p{1000 + i} failed: gateway timeout"))
    for i in range(15):  # new in the last hour: a status code never seen before
        events.append((start + 23 * HOUR + 180_000 + i * 700, "GET /api/items status 503"))
    events.append((start + DAY - 1, "DEBUG heartbeat from worker-1"))  # the span is exactly one day
    events.sort()
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    for h in range(25):  # PutLogEvents takes at most 24 hours per batch
        batch = [{"timestamp": t, "message": m} for t, m in events if start + h * HOUR <= t < start + (h + 1) * HOUR]
        if batch:
            logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=batch)
    return {"logs": logs, "group": group, "start": start, "events": events,
            "range": ((start - 60_000) // 1000, now // 1000)}


def rows_of(day, query):
    _, out = run_query(day["logs"], [day["group"]], query, *day["range"])
    assert out["status"] == "Complete", out
    return [{f["field"]: f["value"] for f in row} for row in out["results"]]


def expected(day):
    """The anomalies the documented model finds, computed from the events."""
    start = day["start"]
    width = -(-(max(t for t, _ in day["events"]) - start + 1) // 24)
    assert width == HOUR
    last = start + 23 * HOUR
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    import datetime as dt

    def stamp(ms):
        return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime(fmt)[:-3]
    out = {}
    # the payment errors: no event in the baseline (first 12 hours), 40 after: p = 1/2^40
    score = round(40 * math.log10(2), 2)
    out["ERROR payment <*> failed: gateway timeout"] = ("New Pattern", priority(2, score), score,
                                                        stamp(last + 120_000), "40")
    # the warnings: 12 in the baseline (1 an hour), 30 in the last hour: of 42 events, each
    # in the last hour with probability 1/13 if the rate had not changed
    p = binomial(42, 1 / 13, range(30, 43))
    assert p < 1e-4 and poisson_upper(30, 1.0) < 1e-4
    score = round(-math.log10(p), 2)
    out["WARN cache miss for key <*>"] = ("Pattern Frequency", priority(1, score), score,
                                          stamp(last + 60_000), "53")
    # the job: 120 in the baseline (10 an hour), none in the last hour
    p = binomial(120, 1 / 13, [0])
    assert p < 1e-4
    score = round(-math.log10(p), 2)
    out["INFO job <*> finished"] = ("Pattern Frequency", priority(0, score), score, stamp(last), "230")
    # the status codes: 200/201/204 in the baseline (240 events, 255 after); 503 new, 15
    # times: p = (255/495)^15. Its frequency (20 -> 35 an hour) is under twice the baseline.
    p = (255 / 495) ** 15
    assert p < 1e-3
    score = round(-math.log10(p), 2)
    out["GET /api/items status <*>"] = ("HTTP Error Code", priority(0, score), score,
                                        stamp(last + 180_000), str(480 + 15))
    # the query times: baseline median and MAD, against the median of the last hour
    base = sorted(20 + k * 7 % 41 for k in range(120))
    m = statistics.median_low(base)
    mad = statistics.median_low(sorted(abs(x - m) for x in base))
    z = 0.6745 * (statistics.median_low(range(120, 130)) - m) / mad
    score = round(-math.log10(math.erfc(z / math.sqrt(2))), 2)
    assert score > 4
    out["INFO db query took <*> ms"] = ("Numerical Token", priority(0, score), score, stamp(last + 19), "240")
    return out


def test_anomaly_flags_what_changed_in_the_last_hour(day):
    rows = rows_of(day, "pattern @message | anomaly")
    want = expected(day)
    got = {r["@pattern"]: (r["@anomalyType"], r["@priority"], float(r["@anomalyScore"]), r["@timestamp"],
                           r["@sampleCount"]) for r in rows}
    assert set(got) == set(want)  # steady patterns (requests, heartbeats) are not anomalies
    for pattern, (kind, prio, score, ts, count) in want.items():
        g = got[pattern]
        assert g[0] == kind and g[1] == prio and g[3] == ts and g[4] == count, (pattern, g)
        assert abs(g[2] - score) < 0.011, (pattern, g, score)
    # every field of pattern is kept
    assert {"@ratio", "@severityLabel", "@tokens", "@visualization", "@description"} <= set(rows[0])
    # default order: priority, then score
    ranks = [("HIGH", "MEDIUM", "LOW").index(r["@priority"]) for r in rows]
    assert ranks == sorted(ranks)
    http = next(r for r in rows if r["@anomalyType"] == "HTTP Error Code")
    assert "503 (15 events)" in http["@description"] and "200, 201, 204" in http["@description"]


def test_anomaly_after_filter_keeps_the_span_and_sorts(day):
    rows = rows_of(day, "fields @timestamp, @message | filter @message like /ERROR|INFO/ | pattern @message "
                        "| anomaly | sort @timestamp desc")
    want = expected(day)
    assert [r["@pattern"] for r in rows] == ["ERROR payment <*> failed: gateway timeout", "INFO db query took <*> ms",
                                             "INFO job <*> finished"]
    assert rows[0]["@timestamp"] == want[rows[0]["@pattern"]][3]
    assert rows[0]["@anomalyType"] == "New Pattern" and rows[0]["@priority"] == "HIGH"
    # commands after anomaly see its fields
    rows = rows_of(day, "pattern @message | anomaly | filter @priority = 'HIGH' | display @pattern, @anomalyType")
    assert sorted(r["@pattern"] for r in rows) == sorted(p for p, w in want.items() if w[1] == "HIGH")
    assert all(set(r) == {"@pattern", "@anomalyType"} for r in rows)


def test_a_steady_day_has_no_anomalies(day):
    rows = rows_of(day, "filter @message like /heartbeat|request/ | pattern @message | anomaly")
    assert rows == []


@pytest.mark.parametrize("query, fragment", [
    ("anomaly", "'anomaly' at position 0 works on the patterns of the pattern command"),
    ("stats count(*) by bin(1h) | anomaly", "'anomaly' at position 28 works on the patterns of the pattern"),
    ("diff | anomaly", "'anomaly' at position 7 cannot be used with diff"),
    ("pattern @message | anomaly | anomaly", "'anomaly' at position 29 can be used once per query"),
    ("pattern @message | stats count(*) as n | anomaly", "'anomaly' at position 41 works on the patterns"),
    ("pattern @message | anomaly 3", "expected '|' or end of query at position 27"),
])
def test_anomaly_elsewhere_is_refused_by_name(day, query, fragment):
    with pytest.raises(ClientError) as exc:
        day["logs"].start_query(logGroupName=day["group"], startTime=day["range"][0], endTime=day["range"][1],
                                queryString=query)
    assert exc.value.response["Error"]["Code"] == "MalformedQueryException"
    assert fragment in exc.value.response["Error"]["Message"]


def test_anomaly_summaries_and_no_events(day):
    rows = rows_of(day, "pattern @message | anomaly | stats count(*) as n by @anomalyType | sort @anomalyType")
    assert rows == [{"@anomalyType": "HTTP Error Code", "n": "1"}, {"@anomalyType": "New Pattern", "n": "1"},
                    {"@anomalyType": "Numerical Token", "n": "1"}, {"@anomalyType": "Pattern Frequency", "n": "2"}]
    _, out = run_query(day["logs"], [day["group"]], "pattern @message | anomaly",
                       (day["start"] - 1_800_000) // 1000, (day["start"] - 120_000) // 1000)
    assert out["status"] == "Complete" and out["results"] == []


def test_the_span_is_where_the_group_has_events(mamori):
    """A day-long query over a group that only has the last ten minutes of events: the
    baseline is the first five of those minutes, not the empty hours before them."""
    logs = mamori.client("logs")
    group = f"/anomaly/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(mamori.admin("GET", "clock")["epoch"] * 1000)
    start = now - 600_000
    events = [(start + i * 5000, f"INFO tick {i} ok") for i in range(120)]  # 5 per 25-second bin
    events += [(start + 480_000 + i * 6000, f"ERROR disk d{i} failed") for i in range(10)]
    events.append((start + 600_000 - 1, "INFO tick 999 ok"))  # span: exactly 10 minutes
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": t, "message": m} for t, m in sorted(events)])
    _, out = run_query(logs, [group], "pattern @message | anomaly | display @pattern, @anomalyType, @anomalyScore",
                       now // 1000 - 86400, now // 1000 + 1)
    rows = [{f["field"]: f["value"] for f in row} for row in out["results"]]
    assert rows == [{"@pattern": "ERROR disk <*> failed", "@anomalyType": "New Pattern",
                     "@anomalyScore": f"{round(10 * math.log10(2), 2):g}"}]
