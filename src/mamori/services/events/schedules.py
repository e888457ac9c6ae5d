"""Schedule expressions of rules: `rate(value unit)` and `cron(6 fields)`, all UTC.

    schedule = parse_schedule("cron(0 12 * * ? *)")   # raises ScheduleError
    schedule.next_after(epoch)                         # the next firing time (epoch seconds)

rate: a positive integer and minute(s)/hour(s)/day(s), singular for 1 and plural above;
the first run is one period after the rule was created (or enabled).
cron: Minutes Hours Day-of-month Month Day-of-week Year; `, - * /` everywhere, `?`
in exactly one of the two day fields, `L` and `W` in day-of-month, `L` and `#` in
day-of-week (1 = SUN), month and weekday names. Firing is at the start of the minute.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class ScheduleError(ValueError):
    pass


@dataclass
class Rate:
    seconds: int

    def next_after(self, start: float, after: float) -> float:
        """The first run strictly after `after` for a schedule started at `start`."""
        if after < start:
            return start + self.seconds
        periods = int((after - start) // self.seconds) + 1
        return start + periods * self.seconds


def _number(token: str, names: dict[str, int] | None, low: int, high: int) -> int:
    if names and token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        raise ScheduleError(token)
    value = int(token)
    if not low <= value <= high:
        raise ScheduleError(token)
    return value


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """`, - * /` syntax -> the set of values."""
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(text)
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(text)
            step = int(step_text)
            if part == "*":
                part = str(low)
            start = _number(part, names, low, high) if "-" not in part else None
            if start is not None:
                values.update(range(start, high + 1, step))
                continue
        if part == "*":
            values.update(range(low, high + 1, step))
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _number(a, names, low, high), _number(b, names, low, high)
            if first <= last:
                values.update(range(first, last + 1, step))
            else:  # wrapping range, e.g. FRI-MON or 22-2
                seq = list(range(first, high + 1)) + list(range(low, last + 1))
                values.update(seq[::step])
        else:
            values.add(_number(part, names, low, high))
    return values


def _weekday(d: date) -> int:
    """1 = Sunday ... 7 = Saturday, as cron's day-of-week."""
    return (d.weekday() + 1) % 7 + 1


def _day_of_month(text: str) -> Callable[[date], bool]:
    if text == "?":
        return lambda d: True
    if text == "L":
        return lambda d: d.day == calendar.monthrange(d.year, d.month)[1]
    if text == "LW":
        def last_weekday(d: date) -> bool:
            last = date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
            while last.weekday() >= 5:
                last -= timedelta(days=1)
            return d == last
        return last_weekday
    if text.endswith("W"):
        target = _number(text[:-1], None, 1, 31)

        def nearest_weekday(d: date) -> bool:
            days = calendar.monthrange(d.year, d.month)[1]
            if target > days:
                return False
            t = date(d.year, d.month, target)
            if t.weekday() == 5:  # Saturday -> Friday, unless that leaves the month
                t = t - timedelta(days=1) if target > 1 else t + timedelta(days=2)
            elif t.weekday() == 6:  # Sunday -> Monday, unless that leaves the month
                t = t + timedelta(days=1) if target < days else t - timedelta(days=2)
            return d == t
        return nearest_weekday
    days = _field(text, 1, 31)
    return lambda d: d.day in days


def _day_of_week(text: str) -> Callable[[date], bool]:
    if text == "?":
        return lambda d: True
    if "#" in text:
        if "," in text:
            raise ScheduleError(text)
        day_text, nth_text = text.split("#", 1)
        day = _number(day_text, _DAYS, 1, 7)
        nth = _number(nth_text, None, 1, 5)
        return lambda d: _weekday(d) == day and (d.day - 1) // 7 + 1 == nth
    if text.endswith("L"):
        day = _number(text[:-1], _DAYS, 1, 7) if text != "L" else 7
        return lambda d: _weekday(d) == day and d.day + 7 > calendar.monthrange(d.year, d.month)[1]
    days = _field(text, 1, 7, _DAYS)
    return lambda d: _weekday(d) in days


@dataclass
class Cron:
    minutes: list[int]
    hours: list[int]
    months: set[int]
    years: set[int]
    dom: Callable[[date], bool]
    dow: Callable[[date], bool]

    def next_after(self, start: float, after: float) -> float:
        moment = datetime.fromtimestamp(after, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = moment.date()
        last_year = max(self.years)
        while day.year <= last_year:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self.dom(day) and self.dow(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate >= moment:
                            return candidate.timestamp()
            day += timedelta(days=1)
        return float("inf")


def parse_schedule(expression: str) -> Rate | Cron:
    m = _RATE.match(expression)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        if value <= 0 or (value == 1) != (not unit.endswith("s")):
            raise ScheduleError(expression)
        return Rate(value * _UNIT[unit.rstrip("s")])
    m = _CRON.match(expression)
    if not m:
        raise ScheduleError(expression)
    fields = m.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(expression)
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(expression)
    try:
        cron = Cron(
            minutes=sorted(_field(minute, 0, 59)),
            hours=sorted(_field(hour, 0, 23)),
            months=_field(month, 1, 12, _MONTHS),
            years=_field(year, 1970, 2199),
            dom=_day_of_month(dom),
            dow=_day_of_week(dow),
        )
    except (ScheduleError, ValueError):
        raise ScheduleError(expression) from None
    return cron
