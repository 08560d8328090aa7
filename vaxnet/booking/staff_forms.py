"""Reading the session planning form: text from the page into what the session services take.

Only the shape of the input is checked here (a date, a number, a slot line); whether the
plan can work is for the services to say.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxnet.booking.models import Session
from vaxnet.booking.planning import SlotSpec
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.vaccines.models import Vaccine, VaccineDose

# Bounds on what a form may ask for, well above any real session.
MAX_PLACES = 100_000
MAX_AGE = 150
MAX_SLOTS = 48
MAX_FEE = Decimal("9999999.99")
_FIELD_LENGTH = 40
_SLOTS_LENGTH = 4000
_SLOT_LINE = re.compile(
    r"^\s*(\d{1,2})[:.h]?(\d{2})\s*[-–—]\s*(\d{1,2})[:.h]?(\d{2})\s*[ ,;/]\s*(\d{1,6})\s*$"
)
RELEASE_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass
class DoseRow:
    """One dose number's row of the form: offered or not, and its online and on-site places."""

    number: int
    offered: bool = False
    online: str = ""
    onsite: str = ""
    booked_online: int = 0
    booked_onsite: int = 0


@dataclass
class PlanForm:
    """The form's values as typed, the problems found in them, and the plan when there are none."""

    values: dict[str, Any]
    doses: list[DoseRow]
    errors: dict[str, str] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)


def dose_numbers(country: Country) -> list[int]:
    """Return every dose number of the country's active vaccines, for the form's dose rows."""
    numbers = VaccineDose.objects.filter(vaccine__country=country, vaccine__active=True)
    return sorted(set(numbers.values_list("number", flat=True))) or [1]


def slot_lines(slots: list[SlotSpec]) -> str:
    """Return slots as the form's text: one "09:00-11:00 50" per line."""
    return "\n".join(f"{s.starts_at:%H:%M}-{s.ends_at:%H:%M} {s.capacity}" for s in slots)


def initial(facility: Facility, numbers: list[int], vaccines: list[Vaccine]) -> PlanForm:
    """Return the form for a new session: tomorrow, the first vaccine, its usual fee."""
    now = timezone.localtime()
    opens = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    values = {
        "on": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "vaccine": vaccines[0].code if vaccines else "",
        "min_age_years": "0",
        "max_age_years": "",
        "fee_kind": "usual",
        "fee": "",
        "slots": "",
        "release_at": opens.strftime(RELEASE_FORMAT),
    }
    doses = [DoseRow(number=n, offered=n == numbers[0]) for n in numbers]
    return PlanForm(values=values, doses=doses)


def from_session(session: Session, numbers: list[int]) -> PlanForm:
    """Return the form filled in with a session's present plan."""
    offered = {dose.dose_number: dose for dose in session.doses.all()}
    slots = [SlotSpec(s.starts_at, s.ends_at, s.capacity) for s in session.slots.all()]
    values = {
        "on": session.date.isoformat(),
        "vaccine": session.vaccine.code,
        "min_age_years": str(session.min_age_years),
        "max_age_years": "" if session.max_age_years is None else str(session.max_age_years),
        "fee_kind": "paid" if session.fee else "free",
        "fee": f"{session.fee:.2f}" if session.fee else "",
        "slots": slot_lines(slots),
        "release_at": timezone.localtime(session.release_at).strftime(RELEASE_FORMAT),
    }
    doses = []
    for number in sorted(set(numbers) | set(offered)):
        dose = offered.get(number)
        doses.append(
            DoseRow(
                number=number,
                offered=dose is not None,
                online=str(dose.capacity_online) if dose else "",
                onsite=str(dose.capacity_onsite) if dose else "",
                booked_online=dose.booked_online if dose else 0,
                booked_onsite=dose.booked_onsite if dose else 0,
            )
        )
    return PlanForm(values=values, doses=doses)


def _count(raw: str, highest: int) -> int | None:
    """Return a whole number from 0 to `highest` (blank is 0), or None if it is not one."""
    raw = raw.strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > highest:
        return None
    return int(raw)


def _slots(text: str) -> tuple[list[SlotSpec], str | None]:
    """Read one slot a line, "09:00-11:00 50"; return the slots or what is wrong."""
    slots: list[SlotSpec] = []
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_SLOTS:
        return [], _("A session can have at most {count} time slots.").format(count=MAX_SLOTS)
    for number, line in enumerate(lines, start=1):
        match = _SLOT_LINE.match(line)
        if match is None:
            return [], _(
                "Line {number}: write each slot as start-end places, like 09:00-11:00 50."
            ).format(number=number)
        start_h, start_m, end_h, end_m, places = (int(part) for part in match.groups())
        if max(start_h, end_h) > 23 or max(start_m, end_m) > 59 or places > MAX_PLACES:
            return [], _("Line {number}: this is not a time of day and a number of places.").format(
                number=number
            )
        slots.append(SlotSpec(time(start_h, start_m), time(end_h, end_m), places))
    return slots, None


def read(
    data: QueryDict,
    *,
    numbers: list[int],
    vaccines: list[Vaccine],
    current: PlanForm | None = None,
) -> PlanForm:
    """Read a submitted planning form; the plan is filled in only when nothing is wrong.

    `current` is the session's form when editing, for the booked counts shown beside the rows.
    """
    text = {key: data.get(key, "")[:_FIELD_LENGTH].strip() for key in _TEXT_FIELDS}
    values: dict[str, Any] = {**text, "slots": data.get("slots", "")[:_SLOTS_LENGTH]}
    if values["fee_kind"] not in ("usual", "free", "paid"):
        values["fee_kind"] = "usual"
    errors: dict[str, str] = {}
    plan: dict[str, Any] = {}

    try:
        plan["on"] = date.fromisoformat(values["on"])
    except ValueError:
        errors["on"] = _("Enter the date of the session, like 2026-03-01.")

    vaccine = next((v for v in vaccines if v.code == values["vaccine"]), None)
    if vaccine is None:
        errors["vaccine"] = _("Choose a vaccine.")
    plan["vaccine"] = vaccine

    offered = {str(n) for n in data.getlist("doses")[:20]}
    counts = {row.number: row for row in current.doses} if current else {}
    doses: list[DoseRow] = []
    capacity: dict[int, tuple[int, int]] = {}
    for number in numbers:
        row = DoseRow(
            number=number,
            offered=str(number) in offered,
            online=data.get(f"online_{number}", "")[:_FIELD_LENGTH].strip(),
            onsite=data.get(f"onsite_{number}", "")[:_FIELD_LENGTH].strip(),
        )
        if number in counts:
            row.booked_online = counts[number].booked_online
            row.booked_onsite = counts[number].booked_onsite
        doses.append(row)
        if not row.offered:
            continue
        online, onsite = _count(row.online, MAX_PLACES), _count(row.onsite, MAX_PLACES)
        if online is None or onsite is None:
            errors.setdefault(
                "capacity",
                _("Places must be whole numbers from 0 to {highest}.").format(highest=MAX_PLACES),
            )
            continue
        capacity[number] = (online, onsite)
    if not offered & {str(n) for n in numbers}:
        errors["dose_numbers"] = _("Choose at least one dose to offer.")
    plan["capacity"] = capacity

    low = _count(values["min_age_years"], MAX_AGE)
    high = _count(values["max_age_years"], MAX_AGE) if values["max_age_years"] else None
    if low is None:
        errors["min_age_years"] = _("Enter an age in whole years.")
    if values["max_age_years"] and high is None:
        errors["max_age_years"] = _("Enter an age in whole years, or leave it empty.")
    plan["min_age_years"], plan["max_age_years"] = low or 0, high

    plan["fee"] = None
    if values["fee_kind"] == "free":
        plan["fee"] = Decimal("0")
    elif values["fee_kind"] == "paid":
        try:
            amount = Decimal(values["fee"].replace(",", "."))
        except InvalidOperation:
            amount = Decimal("-1")
        if (
            not amount.is_finite()
            or not 0 < amount <= MAX_FEE
            or amount != amount.quantize(Decimal("0.01"))
        ):
            errors["fee"] = _("Enter the fee for one dose, like 250 or 250.50.")
        else:
            plan["fee"] = amount

    slots, problem = _slots(values["slots"])
    if problem:
        errors["slots"] = problem
    plan["slots"] = slots

    try:
        moment = datetime.strptime(values["release_at"][:16], RELEASE_FORMAT)  # noqa: DTZ007
        plan["release_at"] = timezone.make_aware(moment)
    except ValueError:
        errors["release_at"] = _("Enter when booking opens, a date and a time.")

    form = PlanForm(values=values, doses=doses, errors=errors)
    if not errors:
        form.plan = plan
    return form


_TEXT_FIELDS = ("on", "vaccine", "min_age_years", "max_age_years", "fee_kind", "fee", "release_at")
