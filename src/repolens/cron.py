"""Schedules: when a project is scanned again without anyone asking.

A schedule is exactly five fields (minute hour day-of-month month day-of-week)
or one of the usual names (@hourly, @daily, @midnight, @weekly, @monthly,
@yearly, @annually). Refused: one that never fires (31 February) and one that
fires more often than `REPOLENS_SCHEDULE_MIN_INTERVAL_SECONDS` anywhere in its
next few hundred firings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from croniter import croniter
from croniter.croniter import CroniterError

from repolens.errors import Refused

NAMES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
FORMS = "five fields (minute hour day month weekday, e.g. '0 3 * * *') or " + ", ".join(NAMES)
_FIELD = re.compile(r"^[0-9A-Za-z*/,\-#?]{1,40}$")
_FIRINGS_CHECKED = 400
_START = datetime(2026, 1, 1, tzinfo=UTC)  # a fixed start: a verdict does not depend on the day


def check(expression: str, min_interval_seconds: int) -> str:
    """EXPRESSION if it is a schedule that fires, at most once per interval; else Refused."""
    canonical = _canonical(expression)
    try:
        moments = croniter(canonical, _START)
        previous = moments.get_next(datetime)
        tightest = timedelta.max
        for _ in range(_FIRINGS_CHECKED):
            following = moments.get_next(datetime)
            tightest = min(tightest, following - previous)
            previous = following
    except (CroniterError, ValueError, KeyError, OverflowError):
        raise Refused(f"schedule {expression!r} never fires", field="schedule") from None
    if tightest.total_seconds() < min_interval_seconds:
        raise Refused(
            f"schedule {expression!r} fires every {_duration(tightest)} at times; "
            f"at most once every {_duration(timedelta(seconds=min_interval_seconds))} is allowed "
            "(REPOLENS_SCHEDULE_MIN_INTERVAL_SECONDS)",
            field="schedule",
        )
    return expression


def next_after(expression: str, moment: datetime) -> datetime:
    fire: datetime = croniter(_canonical(expression), moment).get_next(datetime)
    return fire


def _canonical(expression: str) -> str:
    text = expression.strip()
    if text.lower() in NAMES:
        return NAMES[text.lower()]
    fields = text.split()
    if len(fields) != 5 or not all(_FIELD.match(field) for field in fields):
        raise Refused(f"schedule {expression!r} is not a schedule: use {FORMS}", field="schedule")
    try:
        croniter(" ".join(fields))
    except (CroniterError, ValueError, KeyError):
        raise Refused(f"schedule {expression!r} is not a schedule: use {FORMS}",
                      field="schedule") from None  # fmt: skip
    return " ".join(fields)


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"
