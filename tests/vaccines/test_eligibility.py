"""The eligibility engine: who may have which dose of a vaccine on a date, and why not."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils.formats import date_format
from django.utils.translation import override
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxnet.vaccines.durations import Duration
from vaxnet.vaccines.eligibility import (
    DoseRule,
    Eligible,
    Ineligible,
    PastDose,
    Person,
    Reason,
    VaccineRule,
    next_dose,
)

HINDI_CATALOGUE = (
    Path(__file__).resolve().parents[2] / "vaxnet" / "locale" / "hi" / "LC_MESSAGES" / "django.mo"
)

# ---------------------------------------------------------------- schedules


@pytest.fixture
def covishield() -> VaccineRule:
    """India: COVISHIELD, 18+, dose 2 at 12 to 16 weeks, precaution of the same product."""
    return VaccineRule(
        code="COVISHIELD",
        target="covid19",
        min_age=Duration(18, "y"),
        doses=(
            DoseRule(number=1),
            DoseRule(number=2, min_interval=Duration(84, "d"), max_interval=Duration(112, "d")),
            DoseRule(
                number=3, kind="precaution", min_interval=Duration(26, "w"), same_product=True
            ),
        ),
    )


@pytest.fixture
def covaxin() -> VaccineRule:
    """India: COVAXIN, 15+, dose 2 at 4 to 6 weeks, precaution of the same product."""
    return VaccineRule(
        code="COVAXIN",
        target="covid19",
        min_age=Duration(15, "y"),
        doses=(
            DoseRule(number=1),
            DoseRule(number=2, min_interval=Duration(28, "d"), max_interval=Duration(42, "d")),
            DoseRule(
                number=3, kind="precaution", min_interval=Duration(26, "w"), same_product=True
            ),
        ),
    )


@pytest.fixture
def corbevax() -> VaccineRule:
    """India: CORBEVAX, 12+, but its precaution dose only from 18."""
    return VaccineRule(
        code="CORBEVAX",
        target="covid19",
        min_age=Duration(12, "y"),
        doses=(
            DoseRule(number=1),
            DoseRule(number=2, min_interval=Duration(28, "d")),
            DoseRule(
                number=3,
                kind="precaution",
                min_interval=Duration(26, "w"),
                min_age=Duration(18, "y"),
                same_product=True,
            ),
        ),
    )


@pytest.fixture
def measles_rubella() -> VaccineRule:
    """Kenya: routine MR at 9 and 18 months."""
    return VaccineRule(
        code="MR",
        target="measles",
        doses=(
            DoseRule(number=1, min_age=Duration(9, "m")),
            DoseRule(number=2, min_age=Duration(18, "m"), min_interval=Duration(4, "w")),
        ),
    )


@pytest.fixture
def rotavirus() -> VaccineRule:
    """Kenya: routine rotavirus from 6 weeks, never started past 15 weeks."""
    return VaccineRule(
        code="ROTA",
        target="rotavirus",
        doses=(
            DoseRule(number=1, min_age=Duration(6, "w"), max_age=Duration(15, "w")),
            DoseRule(number=2, min_interval=Duration(4, "w"), max_age=Duration(32, "w")),
        ),
    )


@pytest.fixture
def hpv() -> VaccineRule:
    """Kenya: HPV, one dose from 10 years until the 15th birthday."""
    return VaccineRule(
        code="HPV",
        target="hpv",
        min_age=Duration(10, "y"),
        max_age=Duration(15, "y"),
        doses=(DoseRule(number=1),),
    )


def _mixable(code: str, other: str, min_age: Duration, dose_2_gap: Duration) -> VaccineRule:
    return VaccineRule(
        code=code,
        target="covid19",
        min_age=min_age,
        mix_with=frozenset({other}),
        doses=(
            DoseRule(number=1),
            DoseRule(number=2, min_interval=dose_2_gap, same_product=True),
            DoseRule(number=3, kind="booster", min_interval=Duration(6, "m")),
        ),
    )


@pytest.fixture
def vaxzevria() -> VaccineRule:
    """Kenya: AstraZeneca, whose booster may follow Comirnaty doses."""
    return _mixable("COVID19-AZ", "COVID19-PFIZER", Duration(18, "y"), Duration(8, "w"))


@pytest.fixture
def comirnaty() -> VaccineRule:
    """Kenya: Pfizer-BioNTech, whose booster may follow Vaxzevria doses."""
    return _mixable("COVID19-PFIZER", "COVID19-AZ", Duration(12, "y"), Duration(21, "d"))


ADULT = Person(birth_date=date(1990, 6, 15))


def _doses(code: str, target: str, *days: date) -> list[PastDose]:
    return [PastDose(vaccine_code=code, target=target, given_on=day) for day in days]


# ---------------------------------------------------------------- age windows


def test_it_refuses_the_day_before_the_minimum_age(covishield):
    person = Person(birth_date=date(2006, 5, 10))

    result = next_dose(person, [], covishield, date(2024, 5, 9))

    assert result == Ineligible(Reason.TOO_YOUNG, available_from=date(2024, 5, 10), dose_number=1)


def test_it_accepts_on_the_birthday_of_the_minimum_age(covishield):
    person = Person(birth_date=date(2006, 5, 10))

    result = next_dose(person, [], covishield, date(2024, 5, 10))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2024, 5, 10))


def test_it_accepts_above_the_minimum_age(covishield):
    person = Person(birth_date=date(2006, 5, 10))

    result = next_dose(person, [], covishield, date(2024, 5, 11))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2024, 5, 10))


def test_it_counts_an_age_in_years_from_january_first_with_only_a_birth_year(covishield):
    result = next_dose(Person(birth_year=2006), [], covishield, date(2023, 12, 31))

    assert result == Ineligible(Reason.TOO_YOUNG, available_from=date(2024, 1, 1), dose_number=1)


def test_it_accepts_from_january_first_with_only_a_birth_year(covishield):
    result = next_dose(Person(birth_year=2006), [], covishield, date(2024, 1, 1))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2024, 1, 1))


def test_it_accepts_the_day_before_the_vaccine_maximum_age(hpv):
    result = next_dose(Person(birth_date=date(2010, 3, 15)), [], hpv, date(2025, 3, 14))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2020, 3, 15))


def test_it_refuses_from_the_birthday_of_the_vaccine_maximum_age(hpv):
    result = next_dose(Person(birth_date=date(2010, 3, 15)), [], hpv, date(2025, 3, 15))

    assert result == Ineligible(Reason.TOO_OLD, dose_number=1)


def test_it_accepts_the_whole_year_of_the_maximum_age_with_only_a_birth_year(hpv):
    result = next_dose(Person(birth_year=2010), [], hpv, date(2024, 12, 31))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2020, 1, 1))


def test_it_refuses_the_year_after_the_maximum_age_with_only_a_birth_year(hpv):
    result = next_dose(Person(birth_year=2010), [], hpv, date(2025, 1, 1))

    assert result == Ineligible(Reason.TOO_OLD, dose_number=1)


def test_it_accepts_a_first_rotavirus_dose_at_14_weeks_6_days(rotavirus):
    result = next_dose(Person(birth_date=date(2024, 1, 1)), [], rotavirus, date(2024, 4, 14))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2024, 2, 12))


def test_it_refuses_a_first_rotavirus_dose_from_15_weeks(rotavirus):
    result = next_dose(Person(birth_date=date(2024, 1, 1)), [], rotavirus, date(2024, 4, 15))

    assert result == Ineligible(Reason.TOO_OLD, dose_number=1)


def test_it_refuses_a_first_rotavirus_dose_at_16_weeks(rotavirus):
    result = next_dose(Person(birth_date=date(2024, 1, 1)), [], rotavirus, date(2024, 4, 22))

    assert result == Ineligible(Reason.TOO_OLD, dose_number=1)


def test_it_refuses_a_second_rotavirus_dose_past_its_own_maximum_age(rotavirus):
    history = _doses("ROTA", "rotavirus", date(2024, 2, 12))

    result = next_dose(Person(birth_date=date(2024, 1, 1)), history, rotavirus, date(2024, 8, 13))

    assert result == Ineligible(Reason.TOO_OLD, dose_number=2)


def test_it_needs_a_birth_date_for_a_routine_vaccine(measles_rubella):
    result = next_dose(Person(birth_year=2023), [], measles_rubella, date(2024, 6, 1))

    assert result == Ineligible(Reason.BIRTH_DATE_REQUIRED, dose_number=1)


def test_it_needs_a_birth_date_for_a_maximum_age_in_weeks(rotavirus):
    history = _doses("ROTA", "rotavirus", date(2024, 2, 12))

    result = next_dose(Person(birth_year=2024), history, rotavirus, date(2024, 4, 1))

    assert result == Ineligible(Reason.BIRTH_DATE_REQUIRED, dose_number=2)


def test_it_needs_a_birth_date_or_year(covishield):
    result = next_dose(Person(), [], covishield, date(2024, 6, 1))

    assert result == Ineligible(Reason.BIRTH_DATE_REQUIRED, dose_number=1)


# ---------------------------------------------------------------- intervals


def test_it_refuses_the_day_before_the_minimum_interval(covishield):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10))

    result = next_dose(ADULT, history, covishield, date(2024, 4, 2))

    assert result == Ineligible(Reason.TOO_EARLY, available_from=date(2024, 4, 3), dose_number=2)


def test_it_accepts_on_the_day_of_the_minimum_interval(covishield):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10))

    result = next_dose(ADULT, history, covishield, date(2024, 4, 3))

    assert result == Eligible(
        dose_number=2,
        kind="primary",
        due_from=date(2024, 4, 3),
        due_until=date(2024, 5, 1),
        overdue=False,
    )


def test_it_is_not_overdue_on_the_last_day_of_the_maximum_interval(covishield):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10))

    result = next_dose(ADULT, history, covishield, date(2024, 5, 1))

    assert result == Eligible(
        dose_number=2,
        kind="primary",
        due_from=date(2024, 4, 3),
        due_until=date(2024, 5, 1),
        overdue=False,
    )


def test_it_gives_an_overdue_dose_after_the_maximum_interval(covishield):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10))

    result = next_dose(ADULT, history, covishield, date(2024, 5, 2))

    assert result == Eligible(
        dose_number=2,
        kind="primary",
        due_from=date(2024, 4, 3),
        due_until=date(2024, 5, 1),
        overdue=True,
    )


def test_it_never_gives_two_doses_on_the_same_day(rotavirus):
    # No pack interval is needed for that: a zero one still waits a day.
    no_gap = VaccineRule(
        code="ROTA",
        target="rotavirus",
        doses=(rotavirus.doses[0], DoseRule(number=2, min_interval=Duration(0, "d"))),
    )
    history = _doses("ROTA", "rotavirus", date(2024, 3, 1))

    result = next_dose(Person(birth_date=date(2024, 1, 1)), history, no_gap, date(2024, 3, 1))

    assert result == Ineligible(Reason.TOO_EARLY, available_from=date(2024, 3, 2), dose_number=2)


# ---------------------------------------------------------------- products


def test_it_refuses_to_continue_a_series_started_with_another_product(covishield, covaxin):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10))

    result = next_dose(ADULT, history, covaxin, date(2024, 6, 1))

    assert result == Ineligible(Reason.OTHER_PRODUCT, dose_number=2)


def test_it_continues_a_series_with_a_product_it_mixes_with(vaxzevria, comirnaty):
    history = _doses("COVID19-AZ", "covid19", date(2021, 6, 1), date(2021, 8, 10))

    result = next_dose(ADULT, history, comirnaty, date(2022, 2, 10))

    assert result == Eligible(dose_number=3, kind="booster", due_from=date(2022, 2, 10))


def test_it_mixes_both_ways(vaxzevria, comirnaty):
    history = _doses("COVID19-PFIZER", "covid19", date(2021, 6, 1), date(2021, 6, 22))

    result = next_dose(ADULT, history, vaxzevria, date(2022, 1, 1))

    assert result == Eligible(dose_number=3, kind="booster", due_from=date(2021, 12, 22))


def test_it_requires_the_same_product_even_from_a_mixable_one(vaxzevria, comirnaty):
    history = _doses("COVID19-AZ", "covid19", date(2021, 6, 1))

    result = next_dose(ADULT, history, comirnaty, date(2021, 9, 1))

    assert result == Ineligible(Reason.SAME_PRODUCT_REQUIRED, dose_number=2)


# ---------------------------------------------------------------- precaution dose


def test_it_gives_a_precaution_dose_26_weeks_after_the_second(covishield):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10), date(2024, 4, 3))

    result = next_dose(ADULT, history, covishield, date(2024, 10, 2))

    assert result == Eligible(dose_number=3, kind="precaution", due_from=date(2024, 10, 2))


def test_it_refuses_a_precaution_dose_the_day_before_26_weeks(covishield):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10), date(2024, 4, 3))

    result = next_dose(ADULT, history, covishield, date(2024, 10, 1))

    assert result == Ineligible(Reason.TOO_EARLY, available_from=date(2024, 10, 2), dose_number=3)


def test_it_refuses_a_precaution_dose_of_another_product(covaxin):
    history = _doses("COVISHIELD", "covid19", date(2024, 1, 10), date(2024, 4, 3))

    result = next_dose(ADULT, history, covaxin, date(2025, 1, 1))

    assert result == Ineligible(Reason.SAME_PRODUCT_REQUIRED, dose_number=3)


def test_it_refuses_a_precaution_dose_below_the_dose_minimum_age(corbevax):
    person = Person(birth_date=date(2006, 8, 1))
    history = _doses("CORBEVAX", "covid19", date(2022, 3, 16), date(2022, 4, 13))

    result = next_dose(person, history, corbevax, date(2024, 1, 1))

    assert result == Ineligible(Reason.TOO_YOUNG, available_from=date(2024, 8, 1), dose_number=3)


def test_it_says_when_the_series_is_complete(covishield):
    history = _doses(
        "COVISHIELD", "covid19", date(2024, 1, 10), date(2024, 4, 3), date(2024, 10, 2)
    )

    result = next_dose(ADULT, history, covishield, date(2025, 6, 1))

    assert result == Ineligible(Reason.SERIES_COMPLETE, dose_number=4)


# ---------------------------------------------------------------- history


def test_it_ignores_doses_against_another_disease(covishield):
    history = _doses("MR", "measles", date(1991, 3, 15), date(1992, 1, 15))

    result = next_dose(ADULT, history, covishield, date(2024, 1, 10))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2008, 6, 15))


def test_it_counts_from_the_latest_dose_whatever_the_order_of_the_history(covishield):
    history = _doses("COVISHIELD", "covid19", date(2024, 4, 3), date(2024, 1, 10))

    # 26 weeks after the first dose, but not yet after the second.
    result = next_dose(ADULT, history, covishield, date(2024, 8, 1))

    assert result == Ineligible(Reason.TOO_EARLY, available_from=date(2024, 10, 2), dose_number=3)


# ---------------------------------------------------------------- routine schedules


def test_it_refuses_a_first_mr_dose_before_9_months(measles_rubella):
    person = Person(birth_date=date(2023, 1, 15))

    result = next_dose(person, [], measles_rubella, date(2023, 10, 14))

    assert result == Ineligible(Reason.TOO_YOUNG, available_from=date(2023, 10, 15), dose_number=1)


def test_it_gives_a_first_mr_dose_at_9_months(measles_rubella):
    person = Person(birth_date=date(2023, 1, 15))

    result = next_dose(person, [], measles_rubella, date(2023, 10, 15))

    assert result == Eligible(dose_number=1, kind="primary", due_from=date(2023, 10, 15))


def test_it_counts_9_months_to_the_end_of_a_shorter_month(measles_rubella):
    person = Person(birth_date=date(2023, 5, 31))

    result = next_dose(person, [], measles_rubella, date(2024, 2, 28))

    assert result == Ineligible(Reason.TOO_YOUNG, available_from=date(2024, 2, 29), dose_number=1)


def test_it_refuses_a_second_mr_dose_before_18_months(measles_rubella):
    person = Person(birth_date=date(2023, 1, 15))
    history = _doses("MR", "measles", date(2023, 10, 15))

    result = next_dose(person, history, measles_rubella, date(2024, 7, 14))

    assert result == Ineligible(Reason.TOO_YOUNG, available_from=date(2024, 7, 15), dose_number=2)


def test_it_gives_a_second_mr_dose_at_18_months(measles_rubella):
    person = Person(birth_date=date(2023, 1, 15))
    history = _doses("MR", "measles", date(2023, 10, 15))

    result = next_dose(person, history, measles_rubella, date(2024, 7, 15))

    assert result == Eligible(dose_number=2, kind="primary", due_from=date(2024, 7, 15))


def test_it_waits_4_weeks_after_a_late_first_mr_dose(measles_rubella):
    person = Person(birth_date=date(2023, 1, 15))
    history = _doses("MR", "measles", date(2024, 7, 1))

    result = next_dose(person, history, measles_rubella, date(2024, 7, 15))

    assert result == Ineligible(Reason.TOO_EARLY, available_from=date(2024, 7, 29), dose_number=2)


def test_it_gives_a_second_mr_dose_4_weeks_after_a_late_first(measles_rubella):
    person = Person(birth_date=date(2023, 1, 15))
    history = _doses("MR", "measles", date(2024, 7, 1))

    result = next_dose(person, history, measles_rubella, date(2024, 7, 29))

    assert result == Eligible(dose_number=2, kind="primary", due_from=date(2024, 7, 29))


# ---------------------------------------------------------------- messages

ALL_REASONS = [
    Reason.BIRTH_DATE_REQUIRED,
    Reason.TOO_YOUNG,
    Reason.TOO_OLD,
    Reason.TOO_EARLY,
    Reason.SERIES_COMPLETE,
    Reason.OTHER_PRODUCT,
    Reason.SAME_PRODUCT_REQUIRED,
]


def test_it_labels_every_reason():
    assert set(ALL_REASONS) == set(Reason.LABELS)


@pytest.mark.parametrize("code", ALL_REASONS)
def test_it_gives_every_reason_a_label_and_a_message(code):
    result = Ineligible(code, available_from=date(2024, 3, 1), dose_number=2)

    with override("en"):
        assert isinstance(result.label, str)
        assert result.label
        assert isinstance(result.message, str)
        assert result.message


def test_it_gives_each_reason_its_own_message():
    with override("en"):
        messages = {Ineligible(code, date(2024, 3, 1), 2).message for code in ALL_REASONS}

    assert len(messages) == len(ALL_REASONS)


def test_it_says_until_when_a_person_is_too_young():
    result = Ineligible(Reason.TOO_YOUNG, available_from=date(2024, 3, 1), dose_number=1)

    with override("en"):
        assert result.label == "Too young"
        assert result.message == "Too young for this vaccine until March 1, 2024."


def test_it_says_which_dose_is_not_due_and_from_when():
    result = Ineligible(Reason.TOO_EARLY, available_from=date(2024, 4, 3), dose_number=2)

    with override("en"):
        assert result.label == "Not yet due"
        assert result.message == "Dose 2 is not due yet: the earliest date is April 3, 2024."


without_hindi = pytest.mark.skipif(
    not HINDI_CATALOGUE.exists(), reason="no compiled Hindi catalogue yet"
)


@without_hindi
def test_it_translates_the_reason_into_hindi():
    result = Ineligible(Reason.TOO_YOUNG, available_from=date(2024, 3, 1), dose_number=1)

    with override("hi"):
        assert result.label != "Too young"
        assert not result.message.startswith("Too young")
        assert date_format(date(2024, 3, 1)) in result.message


@without_hindi
@pytest.mark.parametrize("code", ALL_REASONS)
def test_it_fills_in_every_hindi_message(code):
    # A translation that renames a {placeholder} would raise here.
    result = Ineligible(code, available_from=date(2024, 3, 1), dose_number=2)

    with override("hi"):
        assert result.label
        assert result.message


# ---------------------------------------------------------------- properties

PROPERTY = settings(deadline=None, database=None)
TARGET = "covid19"
PRODUCTS = ("ALPHA", "BETA", "GAMMA")

LIMITS = {"d": 400, "w": 60, "m": 24, "y": 80}


def _durations(units: str) -> st.SearchStrategy[Duration]:
    return st.sampled_from(units).flatmap(
        lambda unit: st.builds(Duration, st.integers(0, LIMITS[unit]), st.just(unit))
    )


intervals = _durations("dwm")
# Campaign vaccines give ages in years (a birth year is enough), routine ones in any unit.
ages_by_kind = {"campaign": _durations("y"), "routine": _durations("dwmy")}


def _optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    # Two times in three nothing, as in real packs, where most limits are left out.
    return st.one_of(st.none(), st.none(), strategy)


@st.composite
def vaccine_rules(draw):
    """Draw a product of TARGET with one to four doses and random ages and intervals."""
    code = draw(st.sampled_from(PRODUCTS))
    ages = ages_by_kind[draw(st.sampled_from(("campaign", "routine")))]
    doses = tuple(
        DoseRule(
            number=number,
            kind=draw(st.sampled_from(("primary", "booster", "precaution"))),
            min_interval=draw(_optional(intervals)),
            max_interval=draw(_optional(intervals)),
            min_age=draw(_optional(ages)),
            max_age=draw(_optional(ages)),
            same_product=draw(st.booleans()),
        )
        for number in range(1, draw(st.integers(1, 4)) + 1)
    )
    return VaccineRule(
        code=code,
        target=TARGET,
        doses=doses,
        min_age=draw(_optional(ages)),
        max_age=draw(_optional(ages)),
        mix_with=draw(st.frozensets(st.sampled_from([p for p in PRODUCTS if p != code]))),
    )


@st.composite
def scenarios(draw):
    """Draw a person, their dose history, a vaccine and a date, all near one another."""
    vaccine = draw(vaccine_rules())
    base = draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)))
    age_in_days = draw(st.integers(0, 3 * 366) | st.integers(0, 80 * 366))
    born = base - timedelta(days=age_in_days)
    known = draw(st.sampled_from(("date",) * 4 + ("year",) * 3 + ("nothing",)))
    person = {
        "date": Person(birth_date=born),
        "year": Person(birth_year=born.year),
        "nothing": Person(),
    }[known]
    # Mostly a series still under way, mostly of this very product.
    mixed = draw(st.sampled_from((False, False, True)))
    products = st.sampled_from(PRODUCTS) if mixed else st.just(vaccine.code)
    given_on = st.integers(0, 400).map(lambda days: base + timedelta(days=days))
    doses = len(vaccine.doses)
    count = draw(st.sampled_from((*range(doses), *range(doses + 1))))
    series = draw(
        st.lists(
            st.builds(PastDose, vaccine_code=products, target=st.just(TARGET), given_on=given_on),
            min_size=count,
            max_size=count,
        )
    )
    others = draw(
        st.lists(
            st.builds(
                PastDose, vaccine_code=products, target=st.just("measles"), given_on=given_on
            ),
            max_size=2,
        )
    )
    history = draw(st.permutations(series + others))
    # Often on or next to a boundary: a birthday of an age limit, or the end of an interval.
    on = draw(st.sampled_from(draw(st.sampled_from(_anchors(base, born, series, vaccine)))))
    days = draw(st.sampled_from((-1, 0)) | st.integers(-5, 120) | st.integers(-30, 900))
    on += timedelta(days=days)
    return person, history, vaccine, on


def _anchors(
    base: date, born: date, series: list[PastDose], vaccine: VaccineRule
) -> list[list[date]]:
    """Return dates worth asking about, in groups: the start, the age limits, the last dose."""
    rule = vaccine.dose(len(series) + 1)
    limits = [vaccine.min_age, vaccine.max_age]
    if rule is not None:
        limits += [rule.min_age, rule.max_age]
    birthdays = []
    for age in limits:
        if age is not None:
            birthdays.append(age.after(born))
            if age.in_years:
                birthdays.append(date(born.year + age.value, 1, 1))
    after_last = []
    if series:
        last = max(dose.given_on for dose in series)
        after_last.append(last)
        for interval in (rule.min_interval, rule.max_interval) if rule else ():
            if interval is not None:
                after_last.append(interval.after(last))
    return [group for group in ([base], birthdays, after_last) if group]


def _series(history: list[PastDose]) -> list[PastDose]:
    return [dose for dose in history if dose.target == TARGET]


def _has_reached(person: Person, age: Duration, on: date) -> bool:
    if person.birth_date is not None:
        return on >= age.after(person.birth_date)
    assert person.birth_year is not None
    assert age.unit == "y"
    return on.year - person.birth_year >= age.value


def _is_past(person: Person, age: Duration, on: date) -> bool:
    """Return whether a maximum age is reached (from that day on, the dose is not given)."""
    if person.birth_date is not None:
        return on >= age.after(person.birth_date)
    assert person.birth_year is not None
    assert age.unit == "y"
    return on.year - person.birth_year >= age.value


@PROPERTY
@given(scenarios())
def test_it_is_never_eligible_before_the_minimum_interval(scenario):
    person, history, vaccine, on = scenario
    series = _series(history)
    rule = vaccine.dose(len(series) + 1)
    if not series or rule is None:
        return
    last = max(dose.given_on for dose in series)
    earliest = last + timedelta(days=1)
    if rule.min_interval is not None:
        earliest = max(earliest, rule.min_interval.after(last))

    # The drawn date, and the last days too early, where an off-by-one would show.
    for day in (on, last, earliest - timedelta(days=1)):
        if isinstance(next_dose(person, history, vaccine, day), Eligible):
            assert day >= earliest


@PROPERTY
@given(scenarios())
def test_it_never_offers_a_dose_beyond_the_series(scenario):
    person, history, vaccine, on = scenario

    result = next_dose(person, history, vaccine, on)

    done = len(_series(history))
    if done >= len(vaccine.doses):
        assert result == Ineligible(Reason.SERIES_COMPLETE, dose_number=done + 1)
    if isinstance(result, Eligible):
        assert result.dose_number <= len(vaccine.doses)


@PROPERTY
@given(scenarios())
def test_it_numbers_the_dose_after_the_doses_of_the_target(scenario):
    person, history, vaccine, on = scenario

    result = next_dose(person, history, vaccine, on)

    assert result.dose_number == len(_series(history)) + 1


@PROPERTY
@given(scenarios())
def test_it_is_eligible_only_within_every_age_window(scenario):
    person, history, vaccine, on = scenario
    rule = vaccine.dose(len(_series(history)) + 1)
    if rule is None:
        return
    min_ages = [age for age in (vaccine.min_age, rule.min_age) if age is not None]
    max_ages = [age for age in (vaccine.max_age, rule.max_age) if age is not None]

    # The drawn date, and the days just outside each limit, where an off-by-one would show.
    one_day = timedelta(days=1)
    days = [on]
    if person.birth_date is not None:
        days += [age.after(person.birth_date) - one_day for age in min_ages]
        days += [age.after(person.birth_date) - one_day for age in max_ages]
        days += [age.after(person.birth_date) for age in max_ages]
    elif person.birth_year is not None:
        days += [date(person.birth_year + age.value, 1, 1) - one_day for age in min_ages]
        days += [date(person.birth_year + age.value, 1, 1) - one_day for age in max_ages]
        days += [date(person.birth_year + age.value, 1, 1) for age in max_ages]
    for day in days:
        if isinstance(next_dose(person, history, vaccine, day), Eligible):
            assert all(_has_reached(person, age, day) for age in min_ages)
            assert not any(_is_past(person, age, day) for age in max_ages)


@PROPERTY
@given(scenarios())
def test_it_is_eligible_only_with_a_birth_date_or_year(scenario):
    person, history, vaccine, on = scenario

    result = next_dose(person, history, vaccine, on)

    if isinstance(result, Eligible):
        assert person.birth_date is not None or person.birth_year is not None


@PROPERTY
@given(scenarios())
def test_it_only_gets_better_by_waiting(scenario):
    person, history, vaccine, on = scenario

    result = next_dose(person, history, vaccine, on)

    if isinstance(result, Ineligible) and result.code in (Reason.TOO_EARLY, Reason.TOO_YOUNG):
        assert result.available_from is not None
        assert result.available_from > on
        later = next_dose(person, history, vaccine, result.available_from)
        assert isinstance(later, Eligible) or later.code != result.code


@PROPERTY
@given(scenarios())
def test_it_gives_the_first_date_that_can_work(scenario):
    person, history, vaccine, on = scenario

    result = next_dose(person, history, vaccine, on)

    if isinstance(result, Ineligible) and result.available_from is not None:
        day_before = result.available_from - timedelta(days=1)
        assert isinstance(next_dose(person, history, vaccine, day_before), Ineligible)


@PROPERTY
@given(scenarios())
def test_it_dates_an_eligible_dose_consistently(scenario):
    person, history, vaccine, on = scenario

    result = next_dose(person, history, vaccine, on)

    if isinstance(result, Eligible):
        assert result.due_from <= on
        assert result.overdue == (result.due_until is not None and on > result.due_until)


@PROPERTY
@given(scenarios(), st.data())
def test_it_is_deterministic_and_ignores_the_order_of_the_history(scenario, data):
    person, history, vaccine, on = scenario
    shuffled = data.draw(st.permutations(history))

    result = next_dose(person, history, vaccine, on)

    assert next_dose(person, history, vaccine, on) == result
    assert next_dose(person, shuffled, vaccine, on) == result
