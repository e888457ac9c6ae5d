"""The metric alarm evaluation engine: pure functions over datapoint lists.

    breaches(value, operator, threshold[, upper])   one datapoint against the threshold
    decide(points, n, m, treat, current)            M of N with TreatMissingData -> state
    low_sample(count, p)                            EvaluateLowSampleCountPercentile rule

`points` is the evaluation range, oldest first, each True (breaching), False (not
breaching) or None (missing). AWS fetches more periods than N (the evaluation range,
5 for N = 3); mamori uses N + 2. The rules, from "Configuring how CloudWatch alarms
treat missing data" and "Avoiding premature transitions to alarm state"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html):

  (a)/(b) at least N real points in the range -> the newest N real points decide, the
          missing-data setting does not matter;
  (c) fewer than N real points -> missing points are filled as the setting says, using
      as few fills as possible: notBreaching/breaching fill with good/bad points;
      `missing` decides on the real points alone (no real point: INSUFFICIENT_DATA);
      `ignore` keeps the state when there is nothing but missing or breaching data;
  premature-alarm guard: with fewer than N real points, an alarm still goes to ALARM
      when every real point is breaching and the oldest breaching point within the last
      N periods is at least M periods old (the rest being missing).
"""

from __future__ import annotations

import math

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"

STATIC_OPERATORS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
BAND_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")


def evaluation_range(n: int) -> int:
    return n + 2


def breaches(value: float, operator: str, threshold: float, upper: float | None = None) -> bool:
    """Whether a datapoint breaches. For the band operators `threshold` is the lower
    band and `upper` the upper band. The statistic is the left operand."""
    if operator == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if operator == "GreaterThanThreshold":
        return value > threshold
    if operator == "LessThanThreshold":
        return value < threshold
    if operator == "LessThanOrEqualToThreshold":
        return value <= threshold
    if operator == "LessThanLowerOrGreaterThanUpperThreshold":
        return value < threshold or (upper is not None and value > upper)
    if operator == "LessThanLowerThreshold":
        return value < threshold
    if operator == "GreaterThanUpperThreshold":
        return upper is not None and value > upper
    raise ValueError(operator)


def decide(points: list[bool | None], n: int, m: int, treat: str, current: str) -> str:
    """The new state for an evaluation range (oldest first)."""
    real = [p for p in points if p is not None]
    if len(real) >= n:
        return ALARM if sum(real[-n:]) >= m else OK
    fills = n - len(real)
    if treat == "notBreaching":
        return ALARM if sum(real) >= m else OK
    if treat == "breaching":
        return ALARM if sum(real) + fills >= m else OK
    if not real:
        return current if treat == "ignore" else INSUFFICIENT
    if sum(real) >= m:
        return ALARM
    if all(real):
        if _premature_guard(points, n, m):
            return current if treat == "ignore" else ALARM
        if treat == "ignore":
            return current
    return OK


def _premature_guard(points: list[bool | None], n: int, m: int) -> bool:
    window = points[-n:]
    for i, p in enumerate(window):
        if p:  # the oldest breaching point in the last N
            age = len(window) - i
            return age >= m and all(q is None or q for q in window[i + 1:])
    return False


def low_sample(count: float, p: float) -> bool:
    """A percentile pNN over too few samples to be meaningful (API_PutMetricAlarm.html):
    fewer than 10/(1-p) samples for 0.5 <= p < 1, fewer than 10/p for p < 0.5."""
    p = p / 100.0
    if p <= 0 or p >= 1:
        return False
    need = 10 / (1 - p) if p >= 0.5 else 10 / p
    return count < math.floor(need + 1e-9)
