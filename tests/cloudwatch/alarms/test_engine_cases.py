"""The evaluation engine against the M-of-N / TreatMissingData tables (pure functions)."""

from __future__ import annotations

import pytest
from alarm_helpers import cases

from mamori.services.cloudwatch.alarms import engine

TABLE = cases("missing_data_cases.json")
ROWS = [(c, t) for c in TABLE["cases"] for t in engine.TREATMENTS]


def flags(text: str):
    return [{"0": False, "X": True, "-": None}[c] for c in text.split()]


@pytest.mark.parametrize("case,treat", ROWS, ids=[f"{c['m']}of{c['n']}:{c['points']}:{t}" for c, t in ROWS])
@pytest.mark.parametrize("current", ["OK", "ALARM", "INSUFFICIENT_DATA"])
def test_table(case, treat, current):
    got = engine.decide(flags(case["points"]), case["n"], case["m"], treat, current)
    want = current if case[treat] == "KEEP" else case[treat]
    assert got == want


@pytest.mark.parametrize("case", TABLE["premature"], ids=lambda c: c["points"])
def test_premature_guard(case):
    assert engine.decide(flags(case["points"]), case["n"], case["m"], "missing", "OK") != case["not"]


@pytest.mark.parametrize("op,value,threshold,want", [
    ("GreaterThanOrEqualToThreshold", 5, 5, True), ("GreaterThanOrEqualToThreshold", 4.9, 5, False),
    ("GreaterThanThreshold", 5, 5, False), ("GreaterThanThreshold", 5.1, 5, True),
    ("LessThanThreshold", 5, 5, False), ("LessThanThreshold", 4.9, 5, True),
    ("LessThanOrEqualToThreshold", 5, 5, True), ("LessThanOrEqualToThreshold", 5.1, 5, False),
])
def test_static_operators(op, value, threshold, want):
    assert engine.breaches(value, op, threshold) is want


@pytest.mark.parametrize("op,value,want", [
    ("LessThanLowerOrGreaterThanUpperThreshold", 0, True), ("LessThanLowerOrGreaterThanUpperThreshold", 5, False),
    ("LessThanLowerOrGreaterThanUpperThreshold", 11, True), ("LessThanLowerThreshold", 0, True),
    ("LessThanLowerThreshold", 11, False), ("GreaterThanUpperThreshold", 11, True), ("GreaterThanUpperThreshold", 0, False),
])
def test_band_operators(op, value, want):
    assert engine.breaches(value, op, 1, 10) is want


@pytest.mark.parametrize("count,p,low", [(999, 99, True), (1000, 99, False), (19, 50, True), (20, 50, False),
                                         (99, 10, True), (100, 10, False), (99, 90, True), (100, 90, False)])
def test_low_sample_count(count, p, low):
    # p99 needs 1,000 samples (10/(1-0.99)); p50 needs 20; p10 needs 100 (10/p); p90 needs 100
    assert engine.low_sample(count, p) is low
