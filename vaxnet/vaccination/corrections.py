"""Corrections: a wrong dose record is marked entered in error, never edited or deleted.

Marking a record (`vaccination_mark_in_error`) and correcting it (`vaccination_correct`:
the wrong record marked, the right one made, `replaces` linking them) are each one
transaction with the session's stock account, the appointment, the audit log and the
follow-ups of `events`. The dose number of a corrected record comes from the eligibility
engine, never from the person correcting. Who may correct is decided by the caller through
`core.access.vaccination_for_staff(roles=roles.CORRECTORS)`; the services judge the state.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.queries import dose_history
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.stock.sessions import session_doses_take
from vaxnet.vaccination import events
from vaxnet.vaccination.models import Site, Vaccination
from vaxnet.vaccination.services import insert_vaccination
from vaxnet.vaccines.eligibility import Ineligible, next_dose

REASON_LENGTH = 300


def clean_reason(reason: str) -> str:
    """Return the reason trimmed, or refuse an empty one."""
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise DomainError(
            "reason_required", _("Say why, for the audit log."), field="reason", status=422
        )
    return reason[:REASON_LENGTH]


def _withdraw(*, by: User, vaccination: Vaccination, reason: str, now: datetime) -> None:
    """Mark the record in error and give its dose back to the session's vials of its batch."""
    changed = Vaccination.objects.filter(pk=vaccination.pk, status=Vaccination.Status.VALID).update(
        status=Vaccination.Status.ENTERED_IN_ERROR, error_reason=reason, error_at=now, error_by=by
    )
    if not changed:
        raise DomainError(
            "already_in_error",
            _("This record has already been marked entered in error."),
            status=409,
        )
    vaccination.status = Vaccination.Status.ENTERED_IN_ERROR
    vaccination.error_reason = reason
    vaccination.error_at = now
    vaccination.error_by = by
    session_doses_take(
        session=vaccination.session, batch=vaccination.batch, doses=-1, by=by, at=now
    )
    audit_record(
        actor=by,
        action="vaccination.entered_in_error",
        obj=vaccination,
        data={
            "record": vaccination.public_id,
            "beneficiary": vaccination.beneficiary.reference,
            "dose": vaccination.dose_number,
            "batch": vaccination.batch.public_id,
            "reason": reason,
        },
    )


def _reopen(appointment_id: int | None, session: Session, now: datetime) -> None:
    """Put the appointment back to checked in when its session is still running today.

    The person is then most likely still at the facility, and the right dose is recorded
    on the same appointment as any other. On another day, or once the session is closed,
    the appointment stays as it is: it is history, and the record in error says what
    happened. A person who has since another live appointment for the dose keeps that one.
    """
    if appointment_id is None:
        return
    if session.status != Session.Status.PLANNED or session.date != timezone.localdate(now):
        return
    try:
        with transaction.atomic():
            Appointment.objects.filter(
                pk=appointment_id, status=Appointment.Status.VACCINATED
            ).update(status=Appointment.Status.CHECKED_IN)
    except IntegrityError:
        return


def vaccination_mark_in_error(
    *, by: User, vaccination: Vaccination, reason: str, now: datetime | None = None
) -> Vaccination:
    """Mark a dose record entered in error with why; its dose goes back to the session's vials.

    A second mark is refused (`already_in_error`), whatever the race. After the session's
    stock is closed the dose moves from "given" to open-vial wastage in the ledger
    (`stock.sessions.session_doses_take`). The appointment: see `_reopen`.
    """
    now = now or timezone.now()
    reason = clean_reason(reason)
    try:
        with transaction.atomic():
            _withdraw(by=by, vaccination=vaccination, reason=reason, now=now)
            _reopen(vaccination.appointment_id, vaccination.session, now)
            events.dose_entered_in_error(vaccination)
    except DomainError:
        _forget(vaccination)
        raise
    return vaccination


@dataclass(frozen=True)
class _Right:
    """What the right record says, where the correction changes something."""

    beneficiary: Beneficiary
    batch: Batch
    site: str
    given_at: datetime


def _check_correction(
    old: Vaccination,
    beneficiary: Beneficiary | None,
    batch: Batch | None,
    site: str | None,
    given_at: datetime | None,
    now: datetime,
) -> _Right:
    """Return the right record's facts, or refuse a correction that changes nothing or cannot be."""
    right = _Right(
        beneficiary=beneficiary or old.beneficiary,
        batch=batch or old.batch,
        site=site or old.site,
        given_at=given_at or old.given_at,
    )
    if (
        right.beneficiary.pk == old.beneficiary_id
        and right.batch.pk == old.batch_id
        and right.site == old.site
        and right.given_at == old.given_at
    ):
        raise DomainError(
            "nothing_to_correct",
            _("Change the person, the batch, the site or the time: nothing is different."),
            status=422,
        )
    if right.site not in Site.values:
        raise DomainError("site_unknown", _("Choose where the dose was given."), field="site")
    if right.batch.vaccine_id != old.vaccine_id:
        raise DomainError(
            "wrong_vaccine",
            _("This session gives {vaccine}.").format(vaccine=old.vaccine.display_name),
            field="batch",
        )
    session = old.session
    given_on = timezone.localdate(right.given_at)
    if right.given_at > now:
        raise DomainError(
            "given_in_future", _("A dose cannot be given in the future."), field="given_at"
        )
    if given_on != session.date:
        raise DomainError(
            "session_not_that_day",
            _("The dose was given on {given}, but the session was on {date}.").format(
                given=date_format(given_on), date=date_format(session.date)
            ),
            field="given_at",
        )
    person = right.beneficiary
    if person.pk != old.beneficiary_id:
        _check_other_person(old, person)
    return right


def _check_other_person(old: Vaccination, person: Beneficiary) -> None:
    """Refuse a person who is not a merged-free registration seen at the record's facility."""
    if person.country_id != old.beneficiary.country_id:
        raise DomainError(
            "beneficiary_unknown", _("No person has this reference here."), field="beneficiary"
        )
    if person.merged_into_id is not None:
        raise DomainError(
            "beneficiary_merged",
            _("This registration was merged into another: use the kept one."),
            field="beneficiary",
        )
    seen = (
        Appointment.objects.filter(beneficiary=person, session__facility_id=old.facility_id)
        .filter(Q(session_id=old.session_id) | Q(status=Appointment.Status.VACCINATED))
        .exists()
        or Vaccination.objects.filter(beneficiary=person, facility_id=old.facility_id).exists()
    )
    if not seen:
        raise DomainError(
            "beneficiary_elsewhere",
            _("This person has no appointment or dose at this session's facility."),
            field="beneficiary",
        )


def _dose(old: Vaccination, right: _Right) -> tuple[int, str]:
    """Return the dose number and kind the engine gives, from the history without the old record.

    Doses given after the corrected one do not count towards its number: correcting the
    time of a first dose keeps it the first, whatever came later.
    """
    given_on = timezone.localdate(right.given_at)
    history = [d for d in dose_history(right.beneficiary) if d.given_on <= given_on]
    session = old.session
    result = next_dose(
        right.beneficiary.person(),
        history,
        session.vaccine_rule(),
        given_on,
    )
    if isinstance(result, Ineligible):
        raise DomainError(result.code, result.message, status=409)
    return result.dose_number, result.kind


def _right_appointment(old: Vaccination, person: Beneficiary) -> int | None:
    """Return the appointment the right record is given on: the old one, or the person's own."""
    if person.pk == old.beneficiary_id:
        return old.appointment_id
    live = (Appointment.Status.CHECKED_IN, Appointment.Status.BOOKED)
    own = (
        Appointment.objects.filter(beneficiary=person, session_id=old.session_id, status__in=live)
        .values_list("pk", flat=True)
        .first()
    )
    if own is not None:
        Appointment.objects.filter(pk=own, status__in=live).update(
            status=Appointment.Status.VACCINATED
        )
    return own


def vaccination_correct(
    *,
    by: User,
    vaccination: Vaccination,
    reason: str,
    beneficiary: Beneficiary | None = None,
    batch: Batch | None = None,
    site: str | None = None,
    given_at: datetime | None = None,
    now: datetime | None = None,
) -> Vaccination:
    """Mark a record entered in error and make the right one, in one transaction.

    The right record may be for another person seen at the same facility, from another
    batch issued to the same session, at another site or another time of the session's
    day. Its dose number is the engine's, on the history without the old record. The old
    batch's account gets its dose back and the new one's gives one. The wrong person's
    appointment is handled as `_reopen` says; the right person's own live appointment in
    the session, if any, is the new record's.
    """
    now = now or timezone.now()
    reason = clean_reason(reason)
    if not vaccination.is_valid():
        raise DomainError(
            "already_in_error",
            _("This record has already been marked entered in error."),
            status=409,
        )
    right = _check_correction(vaccination, beneficiary, batch, site, given_at, now)
    old = vaccination
    try:
        new = _replace(by=by, old=old, right=right, reason=reason, now=now)
    except DomainError:
        _forget(old)
        raise
    return new


def _forget(vaccination: Vaccination) -> None:
    """Read the record's state again after a refusal rolled back what was done to it."""
    vaccination.refresh_from_db(fields=["status", "error_reason", "error_at", "error_by"])


def _replace(
    *, by: User, old: Vaccination, right: _Right, reason: str, now: datetime
) -> Vaccination:
    """Withdraw the old record and insert the right one; inside one transaction."""
    with transaction.atomic():
        _withdraw(by=by, vaccination=old, reason=reason, now=now)
        dose_number, dose_kind = _dose(old, right)
        session_doses_take(session=old.session, batch=right.batch, doses=1, by=by, at=now)
        if right.beneficiary.pk != old.beneficiary_id:
            _reopen(old.appointment_id, old.session, now)
        new = Vaccination(
            client_id=uuid.uuid4(),
            beneficiary=right.beneficiary,
            vaccine=old.vaccine,
            target=old.target,
            batch=right.batch,
            dose_number=dose_number,
            dose_kind=dose_kind,
            given_at=right.given_at,
            given_on=timezone.localdate(right.given_at),
            facility=old.facility,
            session=old.session,
            appointment_id=_right_appointment(old, right.beneficiary),
            vaccinator=old.vaccinator,
            site=right.site,
            source=Vaccination.Source.CORRECTION,
            recorded_at=now,
            replaces=old,
        )
        insert_vaccination(new)
        audit_record(
            actor=by,
            action="vaccination.correct",
            obj=new,
            data={
                "record": new.public_id,
                "replaces": old.public_id,
                "beneficiary": right.beneficiary.reference,
                "dose": dose_number,
                "batch": right.batch.public_id,
                "site": right.site,
                "given_at": right.given_at.isoformat(),
                "reason": reason,
            },
        )
        events.dose_entered_in_error(old)
        events.dose_recorded(new)
    return new
