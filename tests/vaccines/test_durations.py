"""Durations as country packs write them: parsing, and calendar arithmetic."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxnet.vaccines.durations import Duration, parse_duration

PROPERTY = settings(deadline=None, database=None)

durations = st.sampled_from("dwmy").flatmap(
    lambda unit: st.builds(
        Duration, st.integers(0, {"d": 54900, "w": 7950, "m": 1800, "y": 150}[unit]), st.just(unit)
    )
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("84d", Duration(84, "d")),
        ("26w", Duration(26, "w")),
        ("9m", Duration(9, "m")),
        ("18y", Duration(18, "y")),
        ("0d", Duration(0, "d")),
        ("150y", Duration(150, "y")),
    ],
)
def test_it_parses_a_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["151y", "9999y", "1801m", "7951w", "54901d"])
def test_it_refuses_a_duration_longer_than_a_lifetime(text):
    with pytest.raises(ValueError, match="longer than a lifetime"):
        parse_duration(text)


def test_it_ignores_surrounding_whitespace():
    assert parse_duration(" 4w\n") == Duration(4, "w")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "84",
        "d",
        "84 d",
        "84D",
        "-4w",
        "+4w",
        "1.5m",
        "4x",
        "4w4d",
        "123456d",
        "18 years",
        # Digits of other scripts: only ASCII digits are a duration.
        "\uff18\uff14d",  # fullwidth
        "\u0668\u0664d",  # Arabic-Indic
        "\u096e\u096ad",  # Devanagari
    ],
)
def test_it_refuses_what_is_not_a_duration(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


@PROPERTY
@given(durations)
def test_it_parses_what_it_prints(duration):
    assert parse_duration(str(duration)) == duration


def test_it_adds_days_across_a_leap_day():
    assert Duration(1, "d").after(date(2024, 2, 28)) == date(2024, 2, 29)


def test_it_adds_days_across_a_year_end():
    assert Duration(84, "d").after(date(2023, 12, 1)) == date(2024, 2, 23)


def test_it_adds_weeks_as_seven_days():
    assert Duration(26, "w").after(date(2024, 1, 1)) == date(2024, 7, 1)


def test_it_counts_twelve_weeks_as_eighty_four_days():
    start = date(2023, 11, 20)
    assert Duration(12, "w").after(start) == Duration(84, "d").after(start)


def test_it_adds_calendar_months_keeping_the_day():
    assert Duration(9, "m").after(date(2023, 1, 15)) == date(2023, 10, 15)


def test_it_adds_months_across_a_year_end():
    assert Duration(3, "m").after(date(2023, 11, 15)) == date(2024, 2, 15)


def test_it_clamps_a_month_end_to_february_28():
    assert Duration(1, "m").after(date(2023, 1, 31)) == date(2023, 2, 28)


def test_it_clamps_a_month_end_to_february_29_in_a_leap_year():
    assert Duration(1, "m").after(date(2024, 1, 31)) == date(2024, 2, 29)


def test_it_clamps_to_a_thirty_day_month():
    assert Duration(1, "m").after(date(2024, 3, 31)) == date(2024, 4, 30)


def test_it_clamps_across_a_year_end():
    assert Duration(3, "m").after(date(2023, 11, 30)) == date(2024, 2, 29)


def test_it_adds_eighteen_years_to_a_leap_day_birthday_as_february_28():
    assert Duration(18, "y").after(date(2004, 2, 29)) == date(2022, 2, 28)


def test_it_keeps_a_leap_day_birthday_in_a_leap_year():
    assert Duration(20, "y").after(date(2004, 2, 29)) == date(2024, 2, 29)


def test_it_counts_a_year_as_twelve_months():
    assert Duration(1, "y").after(date(2023, 8, 31)) == Duration(12, "m").after(date(2023, 8, 31))


@PROPERTY
@given(
    st.integers(0, 100),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
)
def test_it_agrees_between_years_and_months(years, start):
    assert Duration(years, "y").after(start) == Duration(12 * years, "m").after(start)


@PROPERTY
@given(
    st.builds(Duration, st.integers(0, 1200), st.sampled_from("dwmy")),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
)
def test_it_never_goes_back_in_time(duration, start):
    assert duration.after(start) >= start


@PROPERTY
@given(
    st.integers(0, 1200),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
)
def test_it_lands_on_the_same_day_of_the_month_or_the_last_one(months, start):
    end = Duration(months, "m").after(start)
    assert (end.year - start.year) * 12 + end.month - start.month == months
    if end.day != start.day:
        # Only a day that the target month lacks moves, to that month's last day.
        assert end.day < start.day
        assert (end + timedelta(days=1)).day == 1


@pytest.mark.parametrize(
    ("duration", "expected"),
    [(Duration(18, "y"), True), (Duration(9, "m"), False), (Duration(52, "w"), False)],
)
def test_it_knows_whether_it_counts_in_years(duration, expected):
    assert duration.in_years is expected
