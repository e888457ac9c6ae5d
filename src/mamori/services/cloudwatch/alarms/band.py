"""The anomaly detection band model (mamori's own, documented here; AWS does not
publish its model, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Anomaly_Detection.html).

The model of a metric + statistic is trained on the statistic's values at the period
asked, over the 14 days before the start of the range asked, leaving out the
detector's ExcludedTimeRanges. The expected value is their mean; the band is mean ±
width × the population standard deviation (width = ANOMALY_DETECTION_BAND's second
argument, 2 by default). Fewer than MIN_TRAINING values: no band (the points count as
missing). The band is flat over the range asked: no seasonality.

    train(values, width) -> (lower, upper) | None
    parse_band(expression) -> (metric id, width) | None
"""

from __future__ import annotations

import math
import re

MIN_TRAINING = 3
TRAINING_WINDOW = 14 * 86400
_BAND = re.compile(r"^\s*ANOMALY_DETECTION_BAND\s*\(\s*([a-z][A-Za-z0-9_]*)\s*(?:,\s*([0-9]+(?:\.[0-9]+)?)\s*)?\)\s*$")


def train(values: list[float], width: float) -> tuple[float, float] | None:
    if len(values) < MIN_TRAINING:
        return None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return mean - width * std, mean + width * std


def parse_band(expression: str) -> tuple[str, float] | None:
    m = _BAND.match(expression or "")
    if not m:
        return None
    return m.group(1), float(m.group(2)) if m.group(2) else 2.0
