"""The state reason of an evaluated metric alarm: the text (StateReason) and the JSON
(StateReasonData), worded as CloudWatch words them.

    evaluated(slots, flags, n)          the datapoints one evaluation used (+ how many fills)
    state_reason(alarm, ...)            (StateReason, StateReasonData JSON)
    java_double(x)                      a number as CloudWatch prints it (Java's Double.toString)

AWS does not document these texts; they are taken from alarms seen in the wild (SNS
notifications, DescribeAlarms and DescribeAlarmHistory output quoted in public
repositories and in the AWS CLI's describe-alarm-history example,
https://docs.aws.amazon.com/cli/latest/reference/cloudwatch/describe-alarm-history.html):

  alarm without DatapointsToAlarm (N of N):
    Threshold Crossed: 2 datapoints [99.97 (07/09/26 06:14:00), 65.61 (07/09/26 06:13:00)] were greater than the threshold (40.0).
    Threshold Crossed: 1 datapoint [0.0 (19/08/26 09:48:00)] was not greater than the threshold (0.0).
    Threshold Crossed: 1 datapoint [2.0 (19/08/26 09:36:00)] was not less than or equal to the threshold (0.0) and 7 missing datapoints were treated as [Breaching].
  alarm with DatapointsToAlarm (M of N):
    Threshold Crossed: 2 out of the last 2 datapoints [5.53 (27/09/21 01:36:00), 1.75 (27/09/21 01:35:00)] were greater than the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition).
    Threshold Crossed: 1 out of the last 2 datapoints [0.0 (02/06/23 12:28:00)] was not greater than or equal to the threshold (1.0) (minimum 1 datapoint for ALARM -> OK transition).
  anomaly detection band:
    Thresholds Crossed: 1 out of the last 4 datapoints [537.0 (14/11/25 18:39:00)] was less than the lower thresholds [193.3] or greater than the upper thresholds [531.4] (minimum 1 datapoint for OK -> ALARM transition).
  no data:
    Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching].
    Insufficient Data: 1 datapoint was unknown.

The datapoints listed are the ones that crossed (going to ALARM) or did not (going to
OK), newest first, with the time their period starts (dd/mm/yy HH:MM:SS, UTC).
StateReasonData: {"version","queryDate","startDate" (only with datapoints),"unit" (when
the alarm has one),"statistic" (not for metric math),"period","recentDatapoints" (oldest
first),"threshold" (or recentLowerThresholds/recentUpperThresholds),"evaluatedDatapoints"
(newest first; {"timestamp"} alone for a missing one)}.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from mamori.services.cloudwatch.alarms import engine
from mamori.services.cloudwatch.alarms.actions import aws_time

BAND_WORDS = {
    "LessThanLowerOrGreaterThanUpperThreshold": ("less than the lower thresholds [{lo}] or greater than the upper thresholds [{hi}]"),
    "LessThanLowerThreshold": "less than the lower thresholds [{lo}]",
    "GreaterThanUpperThreshold": "greater than the upper thresholds [{hi}]",
}


def java_double(x: float) -> str:
    """Java's Double.toString, which CloudWatch's texts use: plain decimals with at least
    one fractional digit for 1e-3 <= |x| < 1e7, else d.dddE±n (1.0E7, 1.5E-4)."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        text = repr(x)
        if "e" in text or "E" in text:  # repr never does this in this range, kept safe
            text = format(Decimal(text), "f")
        return text if "." in text else text + ".0"
    sign, digits, exp = Decimal(repr(x)).as_tuple()
    digits_text = "".join(map(str, digits)).rstrip("0") or "0"
    exponent = exp + len(digits) - 1
    mantissa = digits_text[0] + "." + (digits_text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{exponent}"


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%d/%m/%y %H:%M:%S")


def _plural(count: int, word: str = "datapoint") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def evaluated(slots: list[tuple[float, float | None]], flags: list[bool | None], n: int) -> tuple[list[tuple[float, float | None, bool | None]], int]:
    """The datapoints an evaluation used, oldest first, as (time, value, breaching) with
    value None for a missing one, and the number of missing ones filled (engine.decide's
    rules: the newest N real points when there are N, else every real point of the
    range and as few fills as possible)."""
    rows = [(t, v, f) for (t, v), f in zip(slots, flags)]
    real = [r for r in rows if r[1] is not None]
    if len(real) >= n:
        return real[-n:], 0
    fills = n - len(real)
    missing = [r for r in rows if r[1] is None][-fills:]
    return sorted(real + missing), fills


def state_reason(
    alarm: dict, slots: list[tuple[float, float | None]], flags: list[bool | None], new: str,
    n: int, m: int, due: float, period: int, band: tuple[float, float] | None = None,
    counts: dict[float, float] | None = None,
) -> tuple[str, str]:
    used, fills = evaluated(slots, flags, n)
    real = [(t, v, f) for t, v, f in used if v is not None]
    op = alarm["ComparisonOperator"]
    threshold = float(alarm.get("Threshold") or 0.0)
    treat = alarm.get("TreatMissingData", "missing")

    data: dict[str, Any] = {"version": "1.0", "queryDate": aws_time(due)}
    if real:
        data["startDate"] = aws_time(real[0][0])
    if alarm.get("Unit"):
        data["unit"] = alarm["Unit"]
    if alarm.get("MetricName"):
        data["statistic"] = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    data["period"] = period
    data["recentDatapoints"] = [float(v) for _, v, _ in real]
    if band is not None:
        data["recentLowerThresholds"] = [float(band[0])] * len(real)
        data["recentUpperThresholds"] = [float(band[1])] * len(real)
    else:
        data["threshold"] = threshold
    points = []
    for t, v, _ in reversed(used):
        point: dict[str, Any] = {"timestamp": aws_time(t)}
        if v is not None:
            if counts is not None and t in counts:
                point["sampleCount"] = float(counts[t])
            point["value"] = float(v)
        points.append(point)
    data["evaluatedDatapoints"] = points
    data_text = json.dumps(data, separators=(",", ":"))

    if new == engine.INSUFFICIENT:
        return f"Insufficient Data: {_plural(n)} {_was(n)} unknown.", data_text

    fill_word = {"breaching": "Breaching", "notBreaching": "NonBreaching"}.get(treat)
    fill_note = ""
    if fills and fill_word:
        fill_note = f" and {_plural(fills, 'missing datapoint')} {_was(fills)} treated as [{fill_word}]"
    if not real:
        periods = _plural(n, "period")
        return (f"Threshold Crossed: no datapoints were received for {periods} and "
                f"{_plural(fills, 'missing datapoint')} {_was(fills)} treated as [{fill_word or 'Missing'}]."), data_text

    going_up = new == engine.ALARM
    listed = [(t, v) for t, v, f in reversed(real) if bool(f) == going_up]
    if not listed:  # the decision came from filled points alone
        return (f"Threshold Crossed: {_plural(fills, 'missing datapoint')} {_was(fills)} treated as "
                f"[{fill_word or 'Missing'}]."), data_text
    k = len(listed)
    shown = ", ".join(f"{java_double(v)} ({_when(t)})" for t, v in listed)
    neg = "" if going_up else "not "
    if band is not None:
        words = BAND_WORDS[op].format(lo=", ".join(java_double(band[0]) for _ in listed),
                                      hi=", ".join(java_double(band[1]) for _ in listed))
        head, tail = "Thresholds Crossed", f"{neg}{words}"
    else:
        head, tail = "Threshold Crossed", f"{neg}{engine.STATIC_OPERATORS[op]} the threshold ({java_double(threshold)})"
    if "DatapointsToAlarm" not in alarm and band is None:
        return f"{head}: {_plural(k)} [{shown}] {_was(k)} {tail}{fill_note}.", data_text
    need = m if going_up else n - m + 1
    direction = "OK -> ALARM" if going_up else "ALARM -> OK"
    return (f"{head}: {k} out of the last {n} datapoints [{shown}] {_was(k)} {tail}{fill_note} "
            f"(minimum {_plural(need)} for {direction} transition)."), data_text
