"""Shared pieces of the CloudWatch provider: errors, time alignment, the data store.

    invalid(...), missing(...), combination(...), validation(...)   AWS's error codes
    align_start(start, now, period)   how CloudWatch rounds StartTime
    period_allowed(start, now, period)  whether data of that age exists at that period
    epoch(value)                      datetime | number -> epoch seconds
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from mamori.errors import AwsError

TWO_WEEKS = 14 * 86400
TWO_HOURS = 2 * 3600
HIGH_RES_PERIODS = (1, 5, 10, 20, 30)


def invalid(message: str) -> AwsError:
    return AwsError(message, code="InvalidParameterValue")


def missing(message: str) -> AwsError:
    return AwsError(message, code="MissingParameter")


def combination(message: str) -> AwsError:
    return AwsError(message, code="InvalidParameterCombination")


def validation(message: str) -> AwsError:
    """The generic query-style validation error (GetMetricData has no modeled one)."""
    return AwsError(message, code="ValidationError", status=400)


def epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def align_start(start: float, now: float, period: int) -> float:
    """StartTime rounding (API_GetMetricData.html, API_GetMetricStatistics.html): sub-minute
    periods to a multiple of the period; otherwise to the minute when less than 15 days
    ago, to 5 minutes up to 63 days, else to the hour."""
    if period < 60:
        return math.floor(start / period) * period
    age = now - start
    unit = 60 if age < 15 * 86400 else 300 if age < 63 * 86400 else 3600
    return math.floor(start / unit) * unit


def period_allowed(start: float, now: float, period: int) -> bool:
    """Older data only exists at coarser periods (API_GetMetricStatistics.html): more than
    3 hours ago a multiple of 60, more than 15 days a multiple of 300, more than 63 days
    a multiple of 3600; otherwise no data points are returned."""
    age = now - start
    if age > 63 * 86400:
        return period % 3600 == 0
    if age > 15 * 86400:
        return period % 300 == 0
    if age > 3 * 3600:
        return period % 60 == 0
    return True


def valid_period(period: int) -> bool:
    return period in HIGH_RES_PERIODS or (period >= 60 and period % 60 == 0)
