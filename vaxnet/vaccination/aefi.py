"""Adverse events following immunisation (AEFI): reports by staff and citizens, follow-up, close.

A report carries the WHO core variables: the dose it follows, when it began, the symptoms
(from a fixed list of WHO terms, with free text), the severity (minor, severe, serious; a
serious one with at least one WHO seriousness criterion), the outcome and who reported it.
A severe or serious event alerts the administrators of the district of the facility that
gave the dose, by email once the report is committed, and stays on their open list until
one of them records the follow-up; a minor one may be closed by the facility's manager.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vaxnet.core.access import facilities_in_scope, roles_at_facility
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.core.rows import insert_returning
from vaxnet.dashboard.services import aefi_facts, facts_replaced, facts_tallied
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccination.models import Aefi, Vaccination
from vaxnet.vaccination.roles import AEFI_FOLLOWERS

logger = logging.getLogger(__name__)

DESCRIPTION_LENGTH = 2000
NOTE_LENGTH = 2000
NAME_LENGTH = 100
# The severities that alert the district and need an administrator's follow-up to close.
ALERTING = (Aefi.Severity.SEVERE, Aefi.Severity.SERIOUS)


class Symptom(models.TextChoices):
    """The common AEFI terms of the WHO (Global Manual on Surveillance of AEFI) a report picks."""

    INJECTION_SITE = "injection_site", _("Injection-site reaction (pain, swelling, redness)")
    FEVER = "fever", _("Fever")
    HEADACHE = "headache", _("Headache")
    FATIGUE = "fatigue", _("Fatigue")
    MYALGIA = "myalgia", _("Muscle or joint pain")
    NAUSEA = "nausea", _("Nausea, vomiting or diarrhoea")
    RASH = "rash", _("Rash")
    ALLERGIC = "allergic", _("Allergic reaction")
    ANAPHYLAXIS = "anaphylaxis", _("Anaphylaxis")
    SEIZURE = "seizure", _("Seizure")
    SYNCOPE = "syncope", _("Fainting (syncope)")
    TTS = "tts", _("Thrombosis with thrombocytopenia")
    MYOCARDITIS = "myocarditis", _("Myocarditis or pericarditis")
    GBS = "gbs", _("Guillain-Barré syndrome")
    OTHER = "other", pgettext_lazy("symptom", "Other")


class Criterion(models.TextChoices):
    """The WHO seriousness criteria: what makes an event serious."""

    DEATH = "death", _("Death")
    LIFE_THREATENING = "life_threatening", _("Life-threatening")
    HOSPITALISATION = "hospitalisation", _("Hospitalisation, or a longer stay in hospital")
    DISABILITY = "disability", _("Lasting or significant disability")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Congenital anomaly")
    MEDICALLY_IMPORTANT = "medically_important", _("Other medically important event")


# Reads


def aefis_in_scope(user: User, roles: Iterable[str]) -> QuerySet[Aefi]:
    """Return the adverse events reported at facilities the user holds one of the roles over."""
    scope = facilities_in_scope(user, roles)
    if scope is None:
        return Aefi.objects.none()
    return Aefi.objects.filter(facility__in=Facility.objects.filter(scope))


def open_first(events: QuerySet[Aefi]) -> QuerySet[Aefi]:
    """Order events for an administrator: open before closed, serious first, then oldest."""
    return events.annotate(
        _open=models.Case(
            models.When(status=Aefi.Status.OPEN, then=0),
            default=1,
            output_field=models.IntegerField(),
        ),
        _rank=models.Case(
            models.When(severity=Aefi.Severity.SERIOUS, then=0),
            models.When(severity=Aefi.Severity.SEVERE, then=1),
            default=2,
            output_field=models.IntegerField(),
        ),
    ).order_by("_open", "_rank", "reported_at", "id")


def open_counts(events: QuerySet[Aefi]) -> dict[str, int]:
    """Return the number of open events by severity (every severity present, zero or more)."""
    counts = dict.fromkeys(Aefi.Severity.values, 0)
    rows = (
        events.filter(status=Aefi.Status.OPEN)
        .order_by()
        .values_list("severity")
        .annotate(n=models.Count("id"))
    )
    for severity, number in rows:
        counts[severity] = number
    return counts


def reportable_doses(beneficiary: Beneficiary) -> list[Vaccination]:
    """Return the person's valid doses, latest first (a merged duplicate's count too)."""
    return list(
        Vaccination.objects.filter(status=Vaccination.Status.VALID)
        .filter(Q(beneficiary=beneficiary) | Q(beneficiary__merged_into=beneficiary))
        .select_related("vaccine", "facility", "beneficiary")
        .order_by("-given_at", "-id")
    )


def dose_of(beneficiary: Beneficiary, public_id: str) -> Vaccination:
    """Return one of the person's valid doses by its public id, or refuse."""
    wanted = str(public_id).strip()
    for dose in reportable_doses(beneficiary):
        if dose.public_id == wanted:
            return dose
    raise DomainError(
        "vaccination_unknown", _("Choose the dose the event followed."), field="vaccination"
    )


def may_follow_up(user: User, aefi: Aefi) -> bool:
    """Return whether the user administers the region of the facility that gave the dose."""
    return bool(roles_at_facility(user, aefi.facility) & set(AEFI_FOLLOWERS))


def manages(user: User, aefi: Aefi) -> bool:
    """Return whether the user manages the facility that gave the dose."""
    return Role.FACILITY_MANAGER in roles_at_facility(user, aefi.facility)


def may_close(user: User, aefi: Aefi) -> bool:
    """Return whether the user may close the event: its facility's manager for a minor one."""
    if may_follow_up(user, aefi):
        return True
    return aefi.severity == Aefi.Severity.MINOR and manages(user, aefi)


# Checks


def _clean_text(value: str, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _check_onset(onset_at: datetime | None, vaccination: Vaccination, now: datetime) -> datetime:
    if onset_at is None:
        raise DomainError("onset_required", _("Say when the event began."), field="onset_at")
    if timezone.is_naive(onset_at):
        onset_at = timezone.make_aware(onset_at)
    if onset_at > now:
        raise DomainError(
            "onset_future", _("The event cannot begin in the future."), field="onset_at"
        )
    if onset_at < vaccination.given_at:
        raise DomainError(
            "onset_before_dose",
            _("The event began before the dose was given ({moment}).").format(
                moment=date_format(timezone.localtime(vaccination.given_at), "DATETIME_FORMAT")
            ),
            field="onset_at",
        )
    return onset_at


def _check_symptoms(symptoms: Sequence[str], description: str) -> list[str]:
    chosen = [str(symptom) for symptom in symptoms]
    if not chosen:
        raise DomainError("symptoms_required", _("Choose at least one symptom."), field="symptoms")
    if any(symptom not in Symptom.values for symptom in chosen):
        raise DomainError("symptom_unknown", _("Choose symptoms from the list."), field="symptoms")
    if Symptom.OTHER in chosen and not description:
        raise DomainError(
            "description_required",
            _("Describe the other symptoms in the description."),
            field="description",
        )
    # Kept in the list's order, each once, whatever order the form sent them in.
    return [symptom for symptom in Symptom.values if symptom in chosen]


def _check_severity(severity: str, criteria: Sequence[str], outcome: str) -> list[str]:
    if severity not in Aefi.Severity.values:
        raise DomainError("severity_unknown", _("Choose the severity."), field="severity")
    if outcome not in Aefi.Outcome.values:
        raise DomainError("outcome_unknown", _("Choose the outcome."), field="outcome")
    chosen = [str(criterion) for criterion in criteria]
    if any(criterion not in Criterion.values for criterion in chosen):
        raise DomainError(
            "criterion_unknown", _("Choose seriousness criteria from the list."), field="criteria"
        )
    if severity == Aefi.Severity.SERIOUS and not chosen:
        raise DomainError(
            "criteria_required",
            _("A serious event meets at least one seriousness criterion: choose which."),
            field="criteria",
        )
    if severity != Aefi.Severity.SERIOUS and chosen:
        raise DomainError(
            "criteria_not_serious",
            _("Seriousness criteria are for serious events: choose serious, or clear them."),
            field="criteria",
        )
    died = outcome == Aefi.Outcome.DIED
    if died != (Criterion.DEATH in chosen):
        raise DomainError(
            "death_criterion",
            _("A death is a serious event with the criterion death, and only then."),
            field="criteria",
        )
    return [criterion for criterion in Criterion.values if criterion in chosen]


def _check_open(aefi: Aefi) -> None:
    if not aefi.is_open():
        raise DomainError("aefi_closed", _("This event has already been followed up and closed."))


# Writes


def _report(
    *,
    vaccination: Vaccination,
    onset_at: datetime | None,
    symptoms: Sequence[str],
    severity: str,
    outcome: str,
    criteria: Sequence[str],
    description: str,
    reporter_kind: str,
    reported_by: User | None,
    reporter_name: str,
    reporter_phone: str,
    now: datetime,
    actor_label: str = "",
) -> Aefi:
    """Check the core variables, save the report with its audit event, and queue any alert."""
    if not vaccination.is_valid():
        raise DomainError(
            "vaccination_in_error",
            _("This dose record was entered in error: report against the right one."),
            field="vaccination",
        )
    description = _clean_text(description, DESCRIPTION_LENGTH)
    onset = _check_onset(onset_at, vaccination, now)
    chosen_symptoms = _check_symptoms(symptoms, description)
    chosen_criteria = _check_severity(severity, criteria, outcome)
    facility = vaccination.facility
    aefi = Aefi(
        beneficiary=vaccination.beneficiary,
        vaccination=vaccination,
        facility=facility,
        region_path=facility.region_path,
        onset_at=onset,
        symptoms=chosen_symptoms,
        description=description,
        severity=severity,
        criteria=chosen_criteria,
        outcome=outcome,
        reporter_kind=reporter_kind,
        reported_by=reported_by,
        reporter_name=reporter_name,
        reporter_phone=reporter_phone,
        reported_at=now,
        status=Aefi.Status.OPEN,
    )
    with transaction.atomic():
        insert_returning(aefi)
        facts_tallied(aefi_facts([aefi.pk]))
        audit_record(
            actor=reported_by,
            actor_label=actor_label,
            action="aefi.report",
            obj=aefi,
            data={
                "aefi": aefi.public_id,
                "vaccination": vaccination.public_id,
                "severity": severity,
                "reporter": reporter_kind,
            },
        )
        if severity in ALERTING:
            public_id = aefi.public_id
            transaction.on_commit(lambda: alert_district(public_id))
    return aefi


def aefi_report_by_staff(
    *,
    by: User,
    vaccination: Vaccination,
    onset_at: datetime | None,
    symptoms: Sequence[str],
    severity: str,
    outcome: str,
    criteria: Sequence[str] = (),
    description: str = "",
    now: datetime | None = None,
) -> Aefi:
    """Report an adverse event a health worker saw or was told of, after a dose in their scope."""
    name = by.get_full_name() or by.get_username()
    return _report(
        vaccination=vaccination,
        onset_at=onset_at,
        symptoms=symptoms,
        severity=severity,
        outcome=outcome,
        criteria=criteria,
        description=description,
        reporter_kind=Aefi.ReporterKind.STAFF,
        reported_by=by,
        reporter_name=name[:NAME_LENGTH],
        reporter_phone="",
        now=now or timezone.now(),
    )


def aefi_report_by_citizen(
    *,
    account: Account,
    beneficiary: Beneficiary,
    vaccination: Vaccination,
    onset_at: datetime | None,
    symptoms: Sequence[str],
    severity: str,
    outcome: str,
    reporter_name: str,
    criteria: Sequence[str] = (),
    description: str = "",
    now: datetime | None = None,
) -> Aefi:
    """Report an adverse event after a dose of a person the account registered."""
    if beneficiary.account_id != account.pk:
        raise NotFound()
    if vaccination.beneficiary_id != beneficiary.pk and (
        vaccination.beneficiary.merged_into_id != beneficiary.pk
    ):
        raise DomainError(
            "vaccination_unknown", _("Choose the dose the event followed."), field="vaccination"
        )
    name = _clean_text(reporter_name, NAME_LENGTH)
    if not name:
        raise DomainError(
            "reporter_required", _("Give the name of the person reporting."), field="reporter_name"
        )
    return _report(
        vaccination=vaccination,
        onset_at=onset_at,
        symptoms=symptoms,
        severity=severity,
        outcome=outcome,
        criteria=criteria,
        description=description,
        reporter_kind=Aefi.ReporterKind.CITIZEN,
        reported_by=None,
        reporter_name=name,
        reporter_phone=account.phone,
        now=now or timezone.now(),
        actor_label=f"account:{account.pk}",
    )


def _appended(aefi: Aefi, by: User, note: str, now: datetime) -> str:
    """Return the follow-up so far with the note added, dated and signed."""
    stamp = date_format(timezone.localtime(now), "Y-m-d H:i")
    entry = f"{stamp} · {by.get_full_name() or by.get_username()}\n{note}"
    return f"{aefi.follow_up}\n\n{entry}" if aefi.follow_up else entry


def aefi_follow_up(
    *,
    by: User,
    aefi: Aefi,
    note: str,
    outcome: str,
    close: bool = False,
    now: datetime | None = None,
) -> Aefi:
    """Record an administrator's follow-up of an open event: what was done, the outcome now."""
    now = now or timezone.now()
    note = _clean_text(note, NOTE_LENGTH)
    if not may_follow_up(by, aefi):
        raise NotFound()
    _check_open(aefi)
    if not note:
        raise DomainError(
            "follow_up_required", _("Write what the follow-up found and did."), field="note"
        )
    if outcome not in Aefi.Outcome.values:
        raise DomainError("outcome_unknown", _("Choose the outcome."), field="outcome")
    severity, criteria = aefi.severity, list(aefi.criteria)
    if outcome == Aefi.Outcome.DIED and Criterion.DEATH not in criteria:
        # A death makes the event serious, whatever it was reported as.
        severity = Aefi.Severity.SERIOUS
        criteria = [c for c in Criterion.values if c in criteria or c == Criterion.DEATH]
    follow_up = _appended(aefi, by, note, now)
    status = Aefi.Status.CLOSED if close else Aefi.Status.OPEN
    with transaction.atomic():
        # Held: the dashboard counts the event by its severity, which this may change.
        counted = aefi_facts([aefi.pk], hold=True)
        changed = Aefi.objects.filter(pk=aefi.pk, status=Aefi.Status.OPEN).update(
            follow_up=follow_up,
            outcome=outcome,
            severity=severity,
            criteria=criteria,
            status=status,
            followed_up_by=by,
            followed_up_at=now,
        )
        if not changed:
            raise DomainError(
                "aefi_closed", _("This event has already been followed up and closed.")
            )
        facts_replaced(counted, aefi_facts([aefi.pk]))
        audit_record(
            actor=by,
            action="aefi.follow_up",
            obj=aefi,
            data={"aefi": aefi.public_id, "outcome": outcome, "closed": close},
        )
    aefi.follow_up, aefi.outcome, aefi.status = follow_up, outcome, status
    aefi.severity, aefi.criteria = severity, criteria
    aefi.followed_up_by, aefi.followed_up_at = by, now
    return aefi


def aefi_close(*, by: User, aefi: Aefi, note: str = "", now: datetime | None = None) -> Aefi:
    """Close an open event: a minor one by its facility's manager, any by its administrators.

    A severe or serious event closes only once its follow-up is written.
    """
    now = now or timezone.now()
    note = _clean_text(note, NOTE_LENGTH)
    if not may_close(by, aefi):
        if manages(by, aefi):
            raise DomainError(
                "aefi_needs_admin",
                _("A severe or serious event is closed by the district administrators."),
                status=403,
            )
        raise NotFound()
    _check_open(aefi)
    if aefi.severity in ALERTING and not (note or aefi.follow_up.strip()):
        raise DomainError(
            "follow_up_required",
            _("A severe or serious event closes only with its follow-up: write it first."),
            field="note",
        )
    follow_up = _appended(aefi, by, note, now) if note else aefi.follow_up
    with transaction.atomic():
        changed = Aefi.objects.filter(pk=aefi.pk, status=Aefi.Status.OPEN).update(
            status=Aefi.Status.CLOSED,
            follow_up=follow_up,
            followed_up_by=by,
            followed_up_at=now,
        )
        if not changed:
            raise DomainError(
                "aefi_closed", _("This event has already been followed up and closed.")
            )
        audit_record(actor=by, action="aefi.close", obj=aefi, data={"aefi": aefi.public_id})
    aefi.status, aefi.follow_up = Aefi.Status.CLOSED, follow_up
    aefi.followed_up_by, aefi.followed_up_at = by, now
    return aefi


# The alert


def district_admins(facility: Facility) -> list[User]:
    """Return the active district administrators over the facility who have an email address."""
    parts = [part for part in facility.region_path.split("/") if part]
    # "/TEST/TS-N/TS-N-HIL/" is under "/TEST/", "/TEST/TS-N/" and itself.
    paths = ["/" + "/".join(parts[: index + 1]) + "/" for index in range(len(parts))]
    memberships = (
        StaffMembership.objects.filter(
            role=Role.DISTRICT_ADMIN, active=True, region__path__in=paths, user__is_active=True
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user__pk")
    )
    found: dict[int, User] = {}
    for membership in memberships:
        found.setdefault(membership.user_id, membership.user)
    return list(found.values())


def alert_district(public_id: str) -> int:
    """Email the district administrators about a severe or serious event; return how many.

    Called once the report is committed. A mail server that is down loses no data: the event
    stays open, first on the administrators' list, and the failure is logged.
    """
    aefi = (
        Aefi.objects.filter(public_id=public_id)
        .select_related("facility__country", "vaccination__vaccine")
        .first()
    )
    if aefi is None:
        return 0
    recipients = [user.email for user in district_admins(aefi.facility)]
    if not recipients:
        logger.warning("AEFI %s: no district administrator with an email to alert", public_id)
        return 0
    languages = aefi.facility.country.languages or [settings.LANGUAGE_CODE]
    with translation.override(languages[0]):
        subject = str(
            _("{severity} adverse event after immunisation at {facility}").format(
                severity=aefi.get_severity_display(), facility=aefi.facility.name
            )
        )
        link = settings.PUBLIC_URL + reverse("aefi:detail", args=[aefi.public_id])
        vaccine = aefi.vaccination.vaccine.display_name if aefi.vaccination else ""
        body = str(
            _(
                "A {severity} adverse event following immunisation was reported at "
                "{facility} on {reported}.\n\nVaccine: {vaccine}\nSymptoms: {symptoms}\n"
                "Outcome: {outcome}\n\nIt stays open until its follow-up is recorded: {link}"
            ).format(
                severity=aefi.get_severity_display().lower(),
                facility=aefi.facility.name,
                reported=date_format(timezone.localtime(aefi.reported_at), "DATETIME_FORMAT"),
                vaccine=vaccine,
                symptoms=", ".join(str(Symptom(symptom).label) for symptom in aefi.symptoms),
                outcome=aefi.get_outcome_display(),
                link=link,
            )
        )
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # the mail server's failure must not undo a committed report
        logger.exception("AEFI %s: the alert email could not be sent", public_id)
        return 0
    return len(recipients)
