"""Helpers for the alarm tests: case loading and a clock-aligned metric writer."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

DATA = Path(__file__).parent / "data"


def cases(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def boundary(mamori_clock, period: int = 60) -> float:
    """Freeze the clock 5 seconds after a period boundary; return that boundary."""
    now = mamori_clock.now()
    start = math.floor(now / period) * period + period
    mamori_clock.freeze(start + 5)
    return start


def put(cw, namespace: str, name: str, at: float, value: float, dims=None) -> None:
    cw.put_metric_data(Namespace=namespace, MetricData=[{
        "MetricName": name, "Value": value, "Timestamp": datetime.fromtimestamp(at, timezone.utc),
        "Dimensions": dims or []}])
