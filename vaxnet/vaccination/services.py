"""The facility day's writes: check-in, walk-ins, recording a dose or a dose not given.

Recording a dose is one transaction (`vaccination_record`): the immutable record, the dose
taken from the vials issued to the session (`stock.sessions.session_doses_take`), the
appointment's state, the audit event, the SMS in the outbox and the follow-ups of
`events.dose_recorded` all commit together or not at all. The dose number comes from the
eligibility engine on the day, never from the person recording.
"""

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.availability import availability_changed
from vaxnet.booking.models import Appointment, Session, SessionDose
from vaxnet.booking.queries import dose_history
from vaxnet.core import ratelimit
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.rows import insert_returning
from vaxnet.dashboard.services import bookings_tallied
from vaxnet.notifications.services import message_enqueue
from vaxnet.people.crypto import id_number_hash
from vaxnet.people.models import Account, Beneficiary
from vaxnet.people.services import beneficiary_register_on_site
from vaxnet.stock.models import Batch
from vaxnet.stock.services import check_usable
from vaxnet.stock.sessions import session_doses_take
from vaxnet.vaccination import events
from vaxnet.vaccination.models import NotGiven, Site, Vaccination
from vaxnet.vaccines.eligibility import Eligible, Ineligible, next_dose

# Wrong security codes allowed per appointment within a quarter of an hour.
CODE_TRIES = 5
CODE_WINDOW = 15 * 60


def _today(session: Session, now: datetime) -> None:
    """Refuse a session that is not running on this local day."""
    if session.status == Session.Status.CANCELLED:
        raise DomainError("session_cancelled", _("This session has been cancelled."))
    if session.status == Session.Status.CLOSED:
        raise DomainError("session_closed", _("This session has been closed."))
    if session.date != timezone.localdate(now):
        raise DomainError(
            "session_not_today",
            _("This session is on {date}, not today.").format(date=date_format(session.date)),
        )


def _check_id(beneficiary: Beneficiary, id_number: str) -> None:
    """Refuse unless the number typed from the document is the one registered (by its hash)."""
    id_type = beneficiary.id_type
    try:
        number = id_type.validate(id_number)
    except DomainError:
        number = ""
    typed = id_number_hash(
        country_code=beneficiary.country.code, id_type_code=id_type.code, number=number
    )
    if not number or not hmac.compare_digest(typed, beneficiary.id_hash):
        raise DomainError(
            "id_mismatch",
            _("The ID number does not match the {document} registered for this person.").format(
                document=id_type.name
            ),
            field="id_number",
        )


def _check_code(appointment: Appointment, code: str) -> None:
    """Refuse a wrong security code; a few wrong tries lock the appointment for a while."""
    key = f"checkin-code:{appointment.pk}"
    if hmac.compare_digest(str(code).strip(), appointment.security_code):
        return
    result = ratelimit.hit(key, CODE_TRIES, CODE_WINDOW)
    if not result.allowed:
        raise DomainError(
            "security_code_locked",
            _("Too many wrong codes for this appointment: ask the person for their slip."),
            field="security_code",
        )
    raise DomainError(
        "security_code_wrong", _("The security code is not right."), field="security_code"
    )


def appointment_check_in(
    *,
    by: User,
    appointment: Appointment,
    id_number: str,
    security_code: str = "",
    now: datetime | None = None,
) -> Appointment:
    """Check a person in for today's session: their security code and ID document confirmed.

    Online bookings need the 4-digit security code; the ID number typed from the document
    is compared with the registered hash. The dose is judged again for today.
    """
    now = now or timezone.now()
    session = appointment.session
    _today(session, now)
    if appointment.status == Appointment.Status.CHECKED_IN:
        raise DomainError("already_checked_in", _("This person is already checked in."))
    if appointment.status != Appointment.Status.BOOKED:
        raise DomainError(
            "not_checkable",
            _("This appointment is {status}: it cannot be checked in.").format(
                status=appointment.get_status_display().lower()
            ),
        )
    if appointment.channel == Appointment.Channel.ONLINE:
        _check_code(appointment, security_code)
    beneficiary = appointment.beneficiary
    _check_id(beneficiary, id_number)
    dose = _eligible(beneficiary, session, timezone.localdate(now))
    with transaction.atomic():
        changed = Appointment.objects.filter(
            pk=appointment.pk,
            status=Appointment.Status.BOOKED,
            session__status=Session.Status.PLANNED,
        ).update(status=Appointment.Status.CHECKED_IN, checked_in_at=now, checked_in_by=by)
        if not changed:
            # Someone else got there first: a verifier at another desk, or the close.
            session.refresh_from_db(fields=["status"])
            _today(session, now)
            raise DomainError("already_checked_in", _("This person is already checked in."))
        audit_record(
            actor=by,
            action="appointment.check_in",
            obj=appointment,
            data={"session": session.public_id, "dose": dose.dose_number},
        )
    appointment.status = Appointment.Status.CHECKED_IN
    appointment.checked_in_at = now
    appointment.checked_in_by = by
    return appointment


def _eligible(beneficiary: Beneficiary, session: Session, on: date) -> Eligible:
    """Return the dose the person may have in the session on the day, or refuse with why not."""
    if beneficiary.merged_into_id is not None:
        raise DomainError(
            "beneficiary_merged",
            _("This registration was merged into reference {reference}: use that one.").format(
                reference=beneficiary.merged_into.reference if beneficiary.merged_into else ""
            ),
        )
    result = next_dose(
        beneficiary.person(),
        dose_history(beneficiary),
        session.vaccine_rule(),
        on,
    )
    if isinstance(result, Ineligible):
        raise DomainError(result.code, result.message)
    return result


@dataclass(frozen=True)
class Person:
    """Who a walk-in is, as the verifier takes it from their ID document."""

    name: str
    sex: str
    birth_year: int
    id_type_code: str
    id_number: str
    birth_date: date | None = None
    phone: str = ""
    language: str = ""


def walk_in_register(
    *, by: User, session: Session, person: Person, now: datetime | None = None
) -> Appointment:
    """Register a person who came without a booking and check them in, on site capacity.

    A person whose ID document is already registered is taken as registered (the verifier
    holds the document); anyone else is registered now, on the account of the mobile number
    given (made if new) or, without a number, on no account. The same eligibility applies.
    """
    now = now or timezone.now()
    _today(session, now)
    country = session.facility.country
    beneficiary = beneficiary_register_on_site(
        country=country,
        name=person.name,
        sex=person.sex,
        birth_year=person.birth_year,
        birth_date=person.birth_date,
        id_type_code=person.id_type_code,
        id_number=person.id_number,
        phone=person.phone,
        language=person.language,
        by=by,
    )
    dose = _eligible(beneficiary, session, timezone.localdate(now))
    offered = {d.dose_number for d in session.doses.all()}
    if dose.dose_number not in offered:
        raise DomainError(
            "dose_not_offered",
            _("{name} needs dose {number}, which this session does not offer.").format(
                name=beneficiary.name, number=dose.dose_number
            ),
        )
    with transaction.atomic():
        # The close changes the session's row: holding it here, a walk-in lands before the
        # close (which then finds them waiting) or sees the session closed.
        held = Session.objects.select_for_update().filter(pk=session.pk).values("status").first()
        if held is None or held["status"] != Session.Status.PLANNED:
            session.status = held["status"] if held else Session.Status.CANCELLED
            _today(session, now)
        taken = SessionDose.objects.filter(session=session, dose_number=dose.dose_number).filter(
            booked_onsite__lt=F("capacity_onsite")
        )
        if not taken.update(booked_onsite=F("booked_onsite") + 1):
            raise DomainError(
                "onsite_full", _("No on-site places are left for this dose in this session.")
            )
        appointment = Appointment(
            beneficiary=beneficiary,
            session=session,
            dose_number=dose.dose_number,
            channel=Appointment.Channel.ONSITE,
            status=Appointment.Status.CHECKED_IN,
            security_code=f"{secrets.randbelow(10_000):04d}",
            checked_in_at=now,
            checked_in_by=by,
        )
        try:
            with transaction.atomic():
                insert_returning(appointment)
        except IntegrityError:
            raise DomainError(
                "already_booked",
                _(
                    "{name} already has an appointment for dose {number}: check them in "
                    "there, or cancel it first."
                ).format(name=beneficiary.name, number=dose.dose_number),
            ) from None
        bookings_tallied(session, [appointment])
        audit_record(
            actor=by,
            action="appointment.walk_in",
            obj=appointment,
            data={"session": session.public_id, "dose": dose.dose_number},
        )
        availability_changed(session)
    appointment.beneficiary = beneficiary
    return appointment


def insert_vaccination(vaccination: Vaccination) -> None:
    """Insert the record, or refuse a dose already recorded (the unique index judges races)."""
    try:
        with transaction.atomic():
            insert_returning(vaccination)
    except IntegrityError as error:
        if (
            "client_id" in str(error)
            or Vaccination.objects.filter(client_id=vaccination.client_id).exists()
        ):
            raise DomainError(
                "duplicate_record", _("This record has already been received.")
            ) from None
        raise DomainError(
            "dose_already_recorded",
            _("Dose {number} of this vaccine is already recorded for this person.").format(
                number=vaccination.dose_number
            ),
        ) from None


def vaccination_record(
    *,
    by: User,
    appointment: Appointment,
    batch: Batch,
    site: str,
    now: datetime | None = None,
) -> Vaccination:
    """Record the dose given to a checked-in person: one transaction, everything or nothing.

    Records made offline arrive in batches through `sync.vaccinations_sync` instead.
    """
    now = now or timezone.now()
    session = appointment.session
    if site not in Site.values:
        raise DomainError("site_unknown", _("Choose where the dose was given."), field="site")
    if appointment.status != Appointment.Status.CHECKED_IN:
        if appointment.status == Appointment.Status.BOOKED:
            raise DomainError("not_checked_in", _("Check this person in first."))
        raise DomainError(
            "not_recordable",
            _("This appointment is {status}: no dose can be recorded on it.").format(
                status=appointment.get_status_display().lower()
            ),
        )
    given_on = timezone.localdate(now)
    _today(session, now)
    if batch.vaccine_id != session.vaccine_id:
        raise DomainError(
            "wrong_vaccine",
            _("This session gives {vaccine}.").format(vaccine=session.vaccine.display_name),
            field="batch",
        )
    beneficiary = appointment.beneficiary
    dose = _eligible(beneficiary, session, given_on)
    with transaction.atomic():
        check_usable(batch, on=given_on)
        session_doses_take(session=session, batch=batch, doses=1, by=by, at=now)
        vaccination = Vaccination(
            beneficiary=beneficiary,
            vaccine=session.vaccine,
            target=session.vaccine.target,
            batch=batch,
            dose_number=dose.dose_number,
            dose_kind=dose.kind,
            given_at=now,
            given_on=given_on,
            facility=session.facility,
            session=session,
            appointment=appointment,
            vaccinator=by,
            site=site,
            source=Vaccination.Source.ONLINE,
            recorded_at=now,
        )
        insert_vaccination(vaccination)
        changed = Appointment.objects.filter(
            pk=appointment.pk, status=Appointment.Status.CHECKED_IN
        ).update(status=Appointment.Status.VACCINATED)
        if not changed:
            raise DomainError("not_recordable", _("This appointment has just been recorded."))
        appointment.status = Appointment.Status.VACCINATED
        audit_record(
            actor=by,
            action="vaccination.record",
            obj=vaccination,
            data={
                "beneficiary": beneficiary.reference,
                "dose": dose.dose_number,
                "batch": batch.public_id,
                "session": session.public_id,
                "source": Vaccination.Source.ONLINE,
            },
        )
        _notify_dose(vaccination)
        events.dose_recorded(vaccination)
    return vaccination


def _notify_dose(vaccination: Vaccination) -> None:
    """Queue the "you received dose N" SMS in the account's language (none without a number)."""
    account: Account | None = vaccination.beneficiary.account
    if account is None:
        return
    with translation.override(account.language):
        context: dict[str, str | int] = {
            "name": vaccination.beneficiary.name,
            "dose": vaccination.dose_number,
            "vaccine": vaccination.vaccine.display_name,
            "date": date_format(vaccination.given_on, "DATE_FORMAT"),
        }
    message_enqueue(
        to=account.phone,
        language=account.language,
        template="dose_recorded",
        context=context,
        dedupe_key=f"dose_recorded:{vaccination.public_id}",
    )


def dose_not_given(
    *,
    by: User,
    appointment: Appointment,
    kind: str,
    reason: str,
    note: str = "",
    until: date | None = None,
    now: datetime | None = None,
    client_id: uuid.UUID | None = None,
) -> NotGiven:
    """Record that a checked-in person did not have the dose: refused, or deferred with why."""
    now = now or timezone.now()
    if kind not in NotGiven.Kind.values:
        raise DomainError("kind_unknown", _("Say whether the dose was refused or deferred."))
    if reason not in NotGiven.Reason.values:
        raise DomainError("reason_unknown", _("Choose a reason."), field="reason")
    if reason == NotGiven.Reason.OTHER and not note.strip():
        raise DomainError("note_required", _("Say why in the note."), field="note")
    if until is not None and until <= timezone.localdate(now):
        raise DomainError("until_past", _("Defer to a later day."), field="until")
    if appointment.status != Appointment.Status.CHECKED_IN:
        raise DomainError("not_checked_in", _("Check this person in first."))
    with transaction.atomic():
        changed = Appointment.objects.filter(
            pk=appointment.pk, status=Appointment.Status.CHECKED_IN
        ).update(status=Appointment.Status.NOT_GIVEN)
        if not changed:
            raise DomainError("not_checked_in", _("This appointment has just been recorded."))
        record = NotGiven(
            client_id=client_id or uuid.uuid4(),
            kind=kind,
            reason=reason,
            note=note.strip()[:300],
            until=until if kind == NotGiven.Kind.DEFERRED else None,
            beneficiary=appointment.beneficiary,
            session=appointment.session,
            appointment=appointment,
            dose_number=appointment.dose_number,
            by=by,
            at=now,
        )
        insert_returning(record)
        audit_record(
            actor=by,
            action=f"vaccination.{kind}",
            obj=record,
            data={"appointment": appointment.public_id, "reason": reason},
        )
    appointment.status = Appointment.Status.NOT_GIVEN
    return record
