"""The eligibility engine: (person, dose history, vaccine, date) -> next dose or a reason.

A pure function over plain data, so that booking, check-in, recording and the
public search all agree, and so that it can be tested exhaustively.
"""

from dataclasses import dataclass, field
from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vaxnet.vaccines.durations import Duration

# Two doses of one series are never given on the same day, whatever a pack says.
_MIN_GAP = Duration(1, "d")


@dataclass(frozen=True)
class Person:
    """What the engine needs to know about a person: when they were born."""

    birth_date: date | None = None
    birth_year: int | None = None


@dataclass(frozen=True)
class PastDose:
    """A valid dose the person already received."""

    vaccine_code: str
    target: str
    given_on: date


@dataclass(frozen=True)
class DoseRule:
    """When one dose of a schedule may be given."""

    number: int
    kind: str = "primary"
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    min_age: Duration | None = None
    max_age: Duration | None = None
    same_product: bool = False


@dataclass(frozen=True)
class VaccineRule:
    """A product's schedule: its age window, its doses, and what it may follow."""

    code: str
    target: str
    doses: tuple[DoseRule, ...]
    min_age: Duration | None = None
    max_age: Duration | None = None
    mix_with: frozenset[str] = field(default_factory=frozenset)

    def dose(self, number: int) -> DoseRule | None:
        """Return the rule for one dose number, or None past the series."""
        for rule in self.doses:
            if rule.number == number:
                return rule
        return None


class Reason:
    """Why a person cannot have the vaccine on the date asked: stable codes."""

    BIRTH_DATE_REQUIRED = "birth_date_required"
    TOO_YOUNG = "too_young"
    TOO_OLD = "too_old"
    TOO_EARLY = "too_early"
    SERIES_COMPLETE = "series_complete"
    OTHER_PRODUCT = "other_product"
    SAME_PRODUCT_REQUIRED = "same_product_required"

    LABELS = {
        BIRTH_DATE_REQUIRED: gettext_lazy("Date of birth needed"),
        TOO_YOUNG: gettext_lazy("Too young"),
        TOO_OLD: gettext_lazy("Above the age limit"),
        TOO_EARLY: gettext_lazy("Not yet due"),
        SERIES_COMPLETE: gettext_lazy("Series complete"),
        OTHER_PRODUCT: gettext_lazy("Started with another vaccine"),
        SAME_PRODUCT_REQUIRED: gettext_lazy("Needs the same vaccine as before"),
    }


@dataclass(frozen=True)
class Eligible:
    """The person may have this dose from due_from (overdue once past due_until)."""

    dose_number: int
    kind: str
    due_from: date
    due_until: date | None = None
    overdue: bool = False

    eligible = True


@dataclass(frozen=True)
class Ineligible:
    """The person may not have the vaccine on that date, and why."""

    code: str
    available_from: date | None = None
    dose_number: int | None = None

    eligible = False

    @property
    def label(self) -> str:
        """Return a short translated label for the reason."""
        return str(Reason.LABELS[self.code])

    @property
    def message(self) -> str:
        """Return a translated sentence a person can act on."""
        when = date_format(self.available_from) if self.available_from else ""
        if self.code == Reason.BIRTH_DATE_REQUIRED:
            return _(
                "This vaccine is given by age in weeks or months: a full date of birth is needed."
            )
        if self.code == Reason.TOO_YOUNG:
            if when:
                return _("Too young for this vaccine until {date}.").format(date=when)
            return _("Too young for this vaccine.")
        if self.code == Reason.TOO_OLD:
            return _("Above the age limit for this vaccine.")
        if self.code == Reason.TOO_EARLY:
            return _("Dose {number} is not due yet: the earliest date is {date}.").format(
                number=self.dose_number, date=when
            )
        if self.code == Reason.SERIES_COMPLETE:
            return _("All doses of this vaccine have been given.")
        if self.code == Reason.OTHER_PRODUCT:
            return _("The earlier doses were of another vaccine that this one cannot follow.")
        return _("This dose must be of the same vaccine as the earlier doses.")


Result = Eligible | Ineligible


def _age_reached(person: Person, age: Duration) -> date | None:
    """Return the date the person reaches an age, or None when the birth date is needed."""
    if person.birth_date is not None:
        return age.after(person.birth_date)
    if person.birth_year is not None and age.in_years:
        # With only a birth year, ages in years count from January 1st of that year.
        return date(person.birth_year + age.value, 1, 1)
    return None


def _past_age(person: Person, age: Duration, on: date) -> bool | None:
    """Return whether the person has reached a maximum age on the date (None: cannot tell).

    A maximum age is the age from which a dose is no longer given: rotavirus "15w"
    allows up to 14 weeks 6 days; HPV "15y" allows girls up to their 15th birthday.
    """
    if person.birth_date is not None:
        return on >= age.after(person.birth_date)
    if person.birth_year is not None and age.in_years:
        return on.year - person.birth_year >= age.value
    return None


def next_dose(person: Person, history: list[PastDose], vaccine: VaccineRule, on: date) -> Result:
    """Return the dose of this vaccine the person may have on the date, or why not."""
    series = sorted((d for d in history if d.target == vaccine.target), key=lambda d: d.given_on)
    number = len(series) + 1
    rule = vaccine.dose(number)
    if rule is None:
        return Ineligible(Reason.SERIES_COMPLETE, dose_number=number)

    earlier_products = {d.vaccine_code for d in series}
    if rule.same_product and earlier_products - {vaccine.code}:
        return Ineligible(Reason.SAME_PRODUCT_REQUIRED, dose_number=number)
    if earlier_products - {vaccine.code} - vaccine.mix_with:
        return Ineligible(Reason.OTHER_PRODUCT, dose_number=number)

    if person.birth_date is None and person.birth_year is None:
        return Ineligible(Reason.BIRTH_DATE_REQUIRED, dose_number=number)

    due_from = date.min
    for min_age in (vaccine.min_age, rule.min_age):
        if min_age is None:
            continue
        reached = _age_reached(person, min_age)
        if reached is None:
            return Ineligible(Reason.BIRTH_DATE_REQUIRED, dose_number=number)
        due_from = max(due_from, reached)
    for max_age in (vaccine.max_age, rule.max_age):
        if max_age is None:
            continue
        past = _past_age(person, max_age, on)
        if past is None:
            return Ineligible(Reason.BIRTH_DATE_REQUIRED, dose_number=number)
        if past:
            return Ineligible(Reason.TOO_OLD, dose_number=number)
    earliest = date.min
    due_until = None
    if series:
        last = series[-1].given_on
        gap = rule.min_interval or _MIN_GAP
        earliest = max(gap.after(last), _MIN_GAP.after(last))
        if rule.max_interval is not None:
            due_until = rule.max_interval.after(last)
    if on < due_from:
        # The date given is the first that satisfies the interval as well as the age.
        available = max(due_from, earliest)
        return Ineligible(Reason.TOO_YOUNG, available_from=available, dose_number=number)
    if on < earliest:
        return Ineligible(Reason.TOO_EARLY, available_from=earliest, dose_number=number)
    due_from = max(due_from, earliest)
    return Eligible(
        dose_number=number,
        kind=rule.kind,
        due_from=due_from if due_from != date.min else on,
        due_until=due_until,
        overdue=due_until is not None and on > due_until,
    )
