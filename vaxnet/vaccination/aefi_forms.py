"""Reading the adverse event forms: text from the page into what the AEFI services take.

Only the shape of the input is checked here (a date and time, lists of choices); whether the
report holds together is for the services to say.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxnet.vaccination.aefi import DESCRIPTION_LENGTH, NAME_LENGTH, NOTE_LENGTH
from vaxnet.vaccination.models import Aefi

ONSET_FORMAT = "%Y-%m-%dT%H:%M"
_CHOICE_LENGTH = 40
_MAX_CHOICES = 20


@dataclass
class ReportForm:
    """An adverse event report as typed, the problems found in its shape, and what it says."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def blank_report(now: datetime) -> ReportForm:
    """Return an empty report whose onset is now, to the minute."""
    onset = timezone.localtime(now).strftime(ONSET_FORMAT)
    return ReportForm(
        values={
            "vaccination": "",
            "onset_at": onset,
            "symptoms": [],
            "description": "",
            "severity": "",
            "criteria": [],
            "outcome": "",
            "reporter_name": "",
        }
    )


def _choices(data: QueryDict, name: str) -> list[str]:
    return [value.strip()[:_CHOICE_LENGTH] for value in data.getlist(name)[:_MAX_CHOICES]]


def parse_onset(raw: str) -> datetime | None:
    """Return the local date and time typed (YYYY-MM-DDTHH:MM) as an aware moment, or None."""
    try:
        moment = datetime.strptime(raw.strip()[:16], ONSET_FORMAT)  # noqa: DTZ007 - made aware below
    except ValueError:
        return None
    return timezone.make_aware(moment)


def read_report(data: QueryDict, *, citizen: bool = False) -> ReportForm:
    """Read a posted report; a citizen's also names who is reporting."""
    values: dict[str, Any] = {
        "vaccination": data.get("vaccination", "").strip()[:16],
        "onset_at": data.get("onset_at", "").strip()[:16],
        "symptoms": _choices(data, "symptoms"),
        "description": data.get("description", "")[:DESCRIPTION_LENGTH],
        "severity": data.get("severity", "").strip()[:_CHOICE_LENGTH],
        "criteria": _choices(data, "criteria"),
        "outcome": data.get("outcome", "").strip()[:_CHOICE_LENGTH],
        "reporter_name": data.get("reporter_name", "")[:NAME_LENGTH],
    }
    form = ReportForm(values=values)
    onset = parse_onset(values["onset_at"])
    if onset is None:
        form.errors["onset_at"] = _("Give the date and time the event began.")
    if not values["vaccination"]:
        form.errors["vaccination"] = _("Choose the dose the event followed.")
    form.report = {
        "onset_at": onset,
        "symptoms": values["symptoms"],
        "description": values["description"],
        "severity": values["severity"],
        "criteria": values["criteria"],
        "outcome": values["outcome"],
    }
    if citizen:
        form.report["reporter_name"] = values["reporter_name"]
    return form


@dataclass
class FollowUpForm:
    """A follow-up as typed: the note, the outcome now, and whether it closes the event."""

    note: str = ""
    outcome: str = ""
    close: bool = False
    errors: dict[str, str] = field(default_factory=dict)


def initial_follow_up(aefi: Aefi) -> FollowUpForm:
    """Return an empty follow-up that keeps the outcome reported so far."""
    return FollowUpForm(outcome=aefi.outcome)


def read_follow_up(data: QueryDict) -> FollowUpForm:
    """Read a posted follow-up."""
    return FollowUpForm(
        note=data.get("note", "")[:NOTE_LENGTH],
        outcome=data.get("outcome", "").strip()[:_CHOICE_LENGTH],
        close=data.get("close") == "1",
    )
