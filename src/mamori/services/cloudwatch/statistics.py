"""Statistics over one period's data: the five basic ones and the extended ones.

    parse_statistic(text) -> Statistic | None     'Average', 'p99', 'TM(10%:90%)', 'IQM', ...
    Statistic.from_aggregate(n, s, lo, hi)         basic statistics from sums
    Statistic.from_values([(value, count)])        extended ones from the sorted raw values

Definitions (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html):
- pNN: the value below which NN% of the data lies; nearest rank over the sorted values.
- TM(a:b) trimmed mean: the mean of the values within the bounds; tmNN = TM(:NN%);
  IQM = TM(25%:75%). Percent bounds become values through the percentile above; with
  absolute bounds the lower is exclusive and the upper inclusive (a percent lower bound
  removes the lowest a% too, so it is exclusive as well).
- WM(a:b) winsorized mean: values outside the bounds count as the bound's value.
- PR(a:b) percentile rank: the percentage of values within (a, b].
- TC(a:b) trimmed count and TS(a:b) trimmed sum (= TM x TC) of the values within bounds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

_NUM = r"\d+(?:\.\d{1,10})?"
_SHORT = re.compile(rf"^(p|tm|wm|tc|ts)({_NUM})$")
_RANGE = re.compile(rf"^(TM|WM|TC|TS|PR)\(({_NUM}%?)?:({_NUM}%?)?\)$")


@dataclass(frozen=True)
class Statistic:
    kind: str  # one of BASIC, or 'p', 'TM', 'WM', 'TC', 'TS', 'PR'
    low: float | None = None
    high: float | None = None
    percent: bool = True  # bounds are percentages (else absolute values)
    text: str = ""

    @property
    def extended(self) -> bool:
        return self.kind not in BASIC

    def from_aggregate(self, n: float, s: float, lo: float, hi: float) -> float:
        if self.kind == "SampleCount":
            return n
        if self.kind == "Sum":
            return s
        if self.kind == "Average":
            return s / n if n else 0.0
        if self.kind == "Minimum":
            return lo
        return hi

    def from_values(self, values: list[tuple[float, float]]) -> float | None:
        """`values`: (value, count) sorted by value. None when the statistic has no value
        (no data within the bounds)."""
        total = sum(c for _, c in values)
        if total <= 0:
            return None
        if self.kind == "p":
            return percentile(values, total, self.low or 0.0)
        low, high = self._bounds(values, total)
        if self.kind == "PR":
            inside = sum(c for x, c in values if (low is None or x > low) and (high is None or x <= high))
            return 100.0 * inside / total
        if self.kind == "WM":
            lo_v = values[0][0] if low is None else low
            hi_v = values[-1][0] if high is None else high
            acc = sum(min(max(x, lo_v), hi_v) * c for x, c in values)
            return acc / total
        kept = [(x, c) for x, c in values if (low is None or x > low) and (high is None or x <= high)]
        count = sum(c for _, c in kept)
        if self.kind == "TC":
            return count
        if not count:
            return None
        acc = sum(x * c for x, c in kept)
        return acc if self.kind == "TS" else acc / count

    def _bounds(self, values: list[tuple[float, float]], total: float) -> tuple[float | None, float | None]:
        if not self.percent:
            return self.low, self.high
        low = None if not self.low else percentile(values, total, self.low)
        high = None if self.high is None or self.high >= 100 else percentile(values, total, self.high)
        return low, high


def percentile(values: list[tuple[float, float]], total: float, p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the data at or below it."""
    rank = max(1.0, math.ceil(p / 100.0 * total - 1e-9))
    seen = 0.0
    for x, c in values:
        seen += c
        if seen >= rank:
            return x
    return values[-1][0]


def parse_statistic(text: str) -> Statistic | None:
    if text in BASIC:
        return Statistic(text, text=text)
    if text == "IQM":
        return Statistic("TM", 25.0, 75.0, True, text)
    m = _SHORT.match(text)
    if m:
        value = float(m.group(2))
        if value > 100:
            return None
        kind = {"p": "p", "tm": "TM", "wm": "WM", "tc": "TC", "ts": "TS"}[m.group(1)]
        if kind == "p":
            return Statistic("p", value, None, True, text)
        return Statistic(kind, None, value, True, text)
    m = _RANGE.match(text)
    if m:
        kind, a, b = m.group(1), m.group(2), m.group(3)
        if a is None and b is None:
            return None
        percents = {x.endswith("%") for x in (a, b) if x}
        if len(percents) != 1:
            return None
        percent = percents.pop()
        if kind == "PR" and percent:
            return None
        low = float(a.rstrip("%")) if a else None
        high = float(b.rstrip("%")) if b else None
        if percent and any(x is not None and x > 100 for x in (low, high)):
            return None
        if low is not None and high is not None and low > high:
            return None
        return Statistic(kind, low, high, percent, text)
    return None
