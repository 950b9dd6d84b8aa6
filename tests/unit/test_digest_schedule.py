"""When digests are due: wall-clock times in the subscriber's zone, across DST changes."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.workers.scheduler import digest_trigger
from metrics_core.digests.subscriptions import Schedule, latest_occurrence, next_occurrence
from metrics_core.store.models import DigestCadence

UTC = dt.UTC
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def daily(hhmm: str, zone: str = BERLIN) -> Schedule:
    hour, minute = map(int, hhmm.split(":"))
    return Schedule(DigestCadence.DAILY, dt.time(hour, minute), zone)


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def test_a_daily_digest_is_due_at_its_local_time_and_not_before() -> None:
    schedule = daily("09:00")  # Berlin in November is UTC+1
    assert latest_occurrence(schedule, at(2026, 11, 23, 8, 0)).due_at == at(2026, 11, 23, 8, 0)
    before = latest_occurrence(schedule, at(2026, 11, 23, 7, 59))
    assert before.period == dt.date(2026, 11, 22)  # still yesterday's
    assert next_occurrence(schedule, at(2026, 11, 23, 7, 59)).due_at == at(2026, 11, 23, 8, 0)


def test_the_period_is_the_subscribers_local_date() -> None:
    """07:00 in Tokyo on the 24th is still the 23rd in UTC."""
    schedule = daily("07:00", "Asia/Tokyo")
    occurrence = latest_occurrence(schedule, at(2026, 11, 23, 22, 30))
    assert occurrence.period == dt.date(2026, 11, 24)
    assert occurrence.due_at == at(2026, 11, 23, 22, 0)


def test_weekly_digests_fall_on_their_weekday() -> None:
    schedule = Schedule(DigestCadence.WEEKLY, dt.time(9, 0), NEW_YORK, weekday=0)
    occurrence = next_occurrence(schedule, at(2026, 11, 18, 12, 0))  # a Wednesday
    assert occurrence.period == dt.date(2026, 11, 23)  # the next Monday
    assert occurrence.due_at == at(2026, 11, 23, 14, 0)  # 09:00 EST
    assert latest_occurrence(schedule, at(2026, 11, 22, 12, 0)).period == dt.date(2026, 11, 16)


def test_a_schedule_is_weekly_with_a_weekday_or_daily_without() -> None:
    with pytest.raises(ValueError, match="weekday"):
        Schedule(DigestCadence.WEEKLY, dt.time(9), BERLIN)
    with pytest.raises(ValueError, match="weekday"):
        Schedule(DigestCadence.DAILY, dt.time(9), BERLIN, weekday=2)


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        # Spring forward in the EU: 29 March 2026, 02:00 CET → 03:00 CEST.
        (dt.date(2026, 3, 28), 8),  # CET, UTC+1
        (dt.date(2026, 3, 29), 7),  # CEST, UTC+2: still 09:00 on the wall
        # Fall back: 25 October 2026, 03:00 CEST → 02:00 CET.
        (dt.date(2026, 10, 24), 7),
        (dt.date(2026, 10, 25), 8),
    ],
)
def test_nine_oclock_stays_nine_oclock_across_both_dst_changes(day: dt.date, utc_hour: int) -> None:
    schedule = daily("09:00")
    occurrence = next_occurrence(schedule, dt.datetime.combine(day, dt.time(0, 0), UTC))
    assert occurrence.period == day
    assert occurrence.due_at == dt.datetime.combine(day, dt.time(utc_hour), UTC)


def test_a_time_skipped_by_spring_forward_goes_out_an_hour_later_not_never() -> None:
    schedule = daily("02:30")  # 02:30 does not exist in Berlin on 29 March 2026
    occurrence = next_occurrence(schedule, at(2026, 3, 28, 23, 0))
    assert occurrence.period == dt.date(2026, 3, 29)
    assert occurrence.due_at == at(2026, 3, 29, 1, 30)  # 03:30 CEST on the wall


def test_a_time_repeated_by_fall_back_goes_out_once_at_its_first_occurrence() -> None:
    schedule = daily("02:30")  # 02:30 happens twice in Berlin on 25 October 2026
    first = next_occurrence(schedule, at(2026, 10, 24, 23, 0))
    assert first.due_at == at(2026, 10, 25, 0, 30)  # 02:30 CEST
    after = next_occurrence(schedule, first.due_at)
    assert after.period == dt.date(2026, 10, 26)  # not again at 02:30 CET the same day


@pytest.mark.parametrize(
    "start",
    [at(2026, 3, 27, 12), at(2026, 10, 23, 12), at(2026, 11, 1, 12), at(2026, 3, 7, 12)],
)
@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK, "Australia/Sydney", "UTC"])
@pytest.mark.parametrize("hhmm", ["09:00", "02:30", "23:59"])
def test_the_cron_trigger_fires_exactly_when_the_schedule_says(
    start: dt.datetime, zone: str, hhmm: str
) -> None:
    """APScheduler's trigger and our occurrences agree over a week spanning DST changes:
    the first firing of each period is exactly its due time. On a fall-back day the trigger
    also fires at the repeated hour; that firing finds the same period (already claimed),
    so it sends nothing."""
    schedule = daily(hhmm, zone)
    trigger = digest_trigger(schedule)
    expected = []
    now = start
    for _ in range(7):
        occurrence = next_occurrence(schedule, now)
        expected.append(occurrence)
        now = occurrence.due_at
    first_fire: dict[dt.date, dt.datetime] = {}
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire.astimezone(UTC) <= expected[-1].due_at:
        period = latest_occurrence(schedule, fire.astimezone(UTC)).period
        first_fire.setdefault(period, fire.astimezone(UTC))
        # Step in UTC: wall-clock arithmetic would loop on the repeated hour.
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + dt.timedelta(seconds=1))
    assert first_fire == {o.period: o.due_at for o in expected}
