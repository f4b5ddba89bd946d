"""Next-run arithmetic (daily / weekly / monthly / cron, in the schedule's zone, across DST changes)
and schedule validation; no database needed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dashapp.services import schedules
from dashapp.services.errors import ValidationError
from dashapp.services.schedules import cron_expression, next_run, upcoming

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def daily(at: str) -> str:
    return cron_expression("daily", at)


# --- next run ----------------------------------------------------------------------------------


def test_daily_is_on_the_local_wall_clock_in_winter_and_summer():
    assert next_run(daily("07:00"), "Europe/London", utc(2026, 1, 10, 12)) == utc(2026, 1, 11, 7)
    assert next_run(daily("07:00"), "Europe/London", utc(2026, 7, 10, 12)) == utc(2026, 7, 11, 6)
    assert next_run(daily("07:00"), "Asia/Tokyo", utc(2026, 7, 10, 12)) == utc(2026, 7, 10, 22)


def test_result_is_utc_and_strictly_after():
    run = next_run(daily("07:00"), "Europe/Paris", utc(2026, 1, 10, 6))  # exactly 07:00 Paris
    assert run == utc(2026, 1, 11, 6) and run.tzinfo == UTC
    local = datetime(2026, 1, 10, 6, 59, tzinfo=ZoneInfo("Europe/Paris"))  # an aware non-UTC `after` works too
    assert next_run(daily("07:00"), "Europe/Paris", local) == utc(2026, 1, 10, 6)


def test_daily_keeps_its_wall_time_across_the_spring_change():
    # Berlin moves from CET (+1) to CEST (+2) on 2026-03-29.
    runs = upcoming(daily("07:00"), "Europe/Berlin", utc(2026, 3, 27, 12), 3)
    assert runs == [utc(2026, 3, 28, 6), utc(2026, 3, 29, 5), utc(2026, 3, 30, 5)]
    assert {r.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") for r in runs} == {"07:00"}


def test_daily_keeps_its_wall_time_across_the_autumn_change():
    runs = upcoming(daily("07:00"), "Europe/Berlin", utc(2026, 10, 23, 12), 3)  # back to CET on 2026-10-25
    assert runs == [utc(2026, 10, 24, 5), utc(2026, 10, 25, 6), utc(2026, 10, 26, 6)]


def test_wall_time_missing_on_the_spring_change_runs_after_the_gap():
    # 02:30 does not exist in New York on 2026-03-08 (02:00 EST -> 03:00 EDT): it runs at 03:30 EDT.
    runs = upcoming(daily("02:30"), "America/New_York", utc(2026, 3, 7, 12), 3)
    assert runs == [utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]
    assert runs[0].astimezone(ZoneInfo("America/New_York")).strftime("%H:%M %Z") == "03:30 EDT"


def test_wall_time_repeated_on_the_autumn_change_runs_once():
    # 01:30 happens twice in New York on 2026-11-01 (EDT, then EST): one run, at the first.
    runs = upcoming(daily("01:30"), "America/New_York", utc(2026, 10, 31, 12), 3)
    assert runs == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), utc(2026, 11, 3, 6, 30)]
    # Asked during the second 01:30 (06:30 UTC), the next run is the next day's.
    assert next_run(daily("01:30"), "America/New_York", utc(2026, 11, 1, 6, 30)) == utc(2026, 11, 2, 6, 30)


def test_frequent_cron_across_the_spring_change_has_no_duplicates_and_no_holes():
    runs = upcoming("*/15 * * * *", "America/New_York", utc(2026, 3, 8, 6, 40), 8)
    assert runs[0] == utc(2026, 3, 8, 6, 45)
    assert all(b - a == timedelta(minutes=15) for a, b in zip(runs, runs[1:]))


def test_weekly_runs_on_its_weekday():
    expr = cron_expression("weekly", "07:00", weekday=0)  # Monday
    assert expr == "0 7 * * mon"
    assert next_run(expr, "Europe/London", utc(2026, 11, 22, 12)) == utc(2026, 11, 23, 7)  # Sunday -> Monday
    assert next_run(expr, "Europe/London", utc(2026, 11, 23, 7)) == utc(2026, 11, 30, 7)  # strictly after
    friday = next_run(cron_expression("weekly", "18:15", weekday=4), "America/Chicago", utc(2026, 6, 1))
    assert friday.astimezone(ZoneInfo("America/Chicago")).strftime("%a %H:%M") == "Fri 18:15"


def test_monthly_runs_on_its_day_in_its_zone():
    expr = cron_expression("monthly", "07:00", day_of_month=28)
    # 07:00 on the 28th in Tokyo is 22:00 UTC on the 27th.
    assert next_run(expr, "Asia/Tokyo", utc(2026, 2, 1)) == utc(2026, 2, 27, 22)
    # Sydney is on daylight time (+11) in January and standard time (+10) in July.
    first = cron_expression("monthly", "09:00", day_of_month=1)
    assert next_run(first, "Australia/Sydney", utc(2026, 1, 15)) == utc(2026, 1, 31, 22)
    assert next_run(first, "Australia/Sydney", utc(2026, 7, 15)) == utc(2026, 7, 31, 23)


def test_cron_weekdays_in_a_zone():
    runs = upcoming("30 6 * * mon-fri", "America/New_York", utc(2026, 11, 20, 20), 2)  # Friday evening
    local = [r.astimezone(ZoneInfo("America/New_York")).strftime("%a %H:%M") for r in runs]
    assert local == ["Mon 06:30", "Tue 06:30"]


def test_slot_key_names_the_schedule_and_utc_minute():
    assert schedules.slot_key(12, datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))) == "s12-20261123T0700Z"


# --- validation --------------------------------------------------------------------------------

GOOD = {"name": "Morning risk", "report_type": "risk_daily", "cadence": "daily", "time_of_day": "7:05",
        "timezone": "Europe/London", "recipients": "Risk@Example.com; cro@example.com, risk@example.com",
        "formats": ["pdf", "xlsx"], "weekday": "3", "day_of_month": 9, "cron": "ignored"}


def test_valid_input_is_cleaned():
    clean = schedules.validate(GOOD)
    assert clean["time_of_day"] == "07:05"
    assert clean["recipients"] == "risk@example.com,cro@example.com"
    assert clean["formats"] == "pdf,xlsx"
    assert clean["weekday"] is None and clean["day_of_month"] is None and clean["cron"] is None


def _error(**changes) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        schedules.validate({**GOOD, **changes})
    return err.value


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"cadence": "cron", "cron": "61 * * * *"}, "cron", "not a valid cron"),
    ({"cadence": "cron", "cron": "0 7 * * * 5"}, "cron", "five fields"),
    ({"cadence": "cron", "cron": "0 0 30 2 *"}, "cron", "never runs"),
    ({"cadence": "cron", "cron": "* * * * *"}, "cron", "more often than every 5 minutes"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown time zone"),
    ({"timezone": ""}, "timezone", "unknown time zone"),
    ({"recipients": "risk@example.com, not-an-address"}, "recipients", "not-an-address"),
    ({"recipients": "bob@localhost"}, "recipients", "not an e-mail address"),
    ({"recipients": " , "}, "recipients", "at least one"),
    ({"report_type": "pnl_weekly"}, "report_type", "unknown report type"),
    ({"cadence": "hourly"}, "cadence", "unknown cadence"),
    ({"time_of_day": "25:00"}, "time_of_day", "HH:MM"),
    ({"cadence": "weekly", "weekday": None}, "weekday", "weekday"),
    ({"cadence": "monthly", "day_of_month": 31}, "day_of_month", "1 to 28"),
    ({"formats": []}, "formats", "at least one format"),
    ({"formats": ["csv"]}, "formats", "csv not available"),
    ({"name": "   "}, "name", "name"),
])
def test_bad_input_names_the_field(changes, field, words):
    err = _error(**changes)
    assert err.field == field
    assert err.message.startswith(f"{field}: ") and words in err.message, err.message


def test_every_bad_field_is_reported():
    err = _error(timezone="Nowhere/Land", recipients="", report_type="nope")
    assert [d["field"] for d in err.details] == ["report_type", "timezone", "recipients"]
    assert err.http_status == 422


def test_job_params_accept_exactly_the_report_types_and_formats():
    import pydantic

    from dashapp.reports import REPORT_KINDS
    from dashapp.services.jobtypes.report import ReportParams
    from models.reports import REPORT_TYPES

    assert set(REPORT_KINDS) == set(REPORT_TYPES)
    for name, kind in REPORT_KINDS.items():
        ReportParams(report_type=name, formats=list(kind.formats))
    with pytest.raises(pydantic.ValidationError):
        ReportParams(report_type="nope")
    with pytest.raises(pydantic.ValidationError):
        ReportParams(report_type="risk_daily", formats=["docx"])


def test_delivery_backoff_doubles_and_is_capped():
    from dashapp.services.delivery import MAX_BACKOFF, Policy

    policy = Policy(max_attempts=5, base_backoff=60, timeout=5)
    assert [policy.backoff(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert policy.backoff(20) == MAX_BACKOFF


def test_smtp_settings_default_to_not_configured(monkeypatch, tmp_path):
    from dashapp.config import ConfigError, Settings
    from dashapp.services.delivery import configuration_problem

    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "SMTP_STARTTLS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env(instance_dir=tmp_path, secret_key="k")
    assert settings.smtp_host is None and "SMTP_HOST" in configuration_problem(settings)
    monkeypatch.setenv("SMTP_HOST", "mail.example.com")
    monkeypatch.setenv("SMTP_PORT", "2525")
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2")
    settings = Settings.from_env(instance_dir=tmp_path, secret_key="k")
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("mail.example.com", 2525, False)
    assert configuration_problem(settings) is None and "hunter2" not in repr(settings)
    monkeypatch.setenv("SMTP_PORT", "smtp")
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        Settings.from_env(instance_dir=tmp_path, secret_key="k")
