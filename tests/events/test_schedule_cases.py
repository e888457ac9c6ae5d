"""The schedule-expression engine on a data file: each case an expression, a start time
and the next firing times worked out by hand from the calendar (1 = SUN in cron's
day-of-week; `L`, `W`, `#` as in eb-scheduled-rule-pattern.html). A rate() schedule
starts at the given time (its rule's creation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mamori.services.events.schedules import parse_schedule

CASES = json.loads((Path(__file__).parent / "schedule_cases.json").read_text())


def epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def iso(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['expression']}@{c['after']}" for c in CASES])
def test_next_firing_times(case):
    schedule = parse_schedule(case["expression"])
    start = epoch(case["after"])
    found, moment = [], start
    for _ in range(len(case["next"]) or 1):
        moment = schedule.next_after(start, moment)
        if moment == float("inf"):
            break
        found.append(iso(moment))
    assert found == case["next"]
