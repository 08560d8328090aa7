"""v1 API: the facility day for staff — today's sessions, finding people, check-in, doses.

Staff call with their Django session (and the CSRF token for writes), as for the stock API
(vaxnet.api.v1_stock). Every facility, session and appointment is reached through its
access chokepoint (vaxnet.core.access) with the roles of vaxnet.vaccination.roles: what
is missing or out of scope answers 404 alike. Every write goes through a service and
takes an Idempotency-Key. ID numbers and phones are never answered, only masked.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Router

from vaxnet.api import v1_vaccination_schemas as s
from vaxnet.api.v1_idempotency import Answer, idempotent, json_response
from vaxnet.api.v1_stock import ERRORS, _user, staff
from vaxnet.booking.models import Appointment
from vaxnet.core.access import appointment_for_staff, facility_for_staff, session_for_staff
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.ratelimit import check_rate
from vaxnet.stock.models import Batch
from vaxnet.vaccination import queries, services
from vaxnet.vaccination.models import NotGiven, Vaccination
from vaxnet.vaccination.roles import CHECKERS, FACILITY_STAFF, RECORDERS

router = Router(tags=["Vaccination"])

# Staff writes per user (hits, window in seconds): a busy vaccinator records a few hundred a day.
WRITES_PER_USER = (2000, 3600)


def _write(request: HttpRequest, work: Any) -> HttpResponse:
    user = _user(request)
    check_rate(f"api:v1:day:user:{user.pk}", WRITES_PER_USER[0], WRITES_PER_USER[1])
    return idempotent(request, scope=f"user:{user.pk}", work=lambda: work(user))


def _found_out(appointment: Appointment) -> dict[str, Any]:
    person = appointment.beneficiary
    return {
        "id": appointment.public_id,
        "beneficiary": person.reference,
        "name": person.name,
        "id_type": person.id_type.code,
        "id_number": person.masked_id(),
        "dose": appointment.dose_number,
        "status": appointment.status,
        "channel": appointment.channel,
    }


def _vaccination_out(record: Vaccination) -> dict[str, Any]:
    return s.VaccinationOut(
        id=record.public_id,
        appointment=record.appointment.public_id if record.appointment else None,
        beneficiary=record.beneficiary.reference,
        dose=record.dose_number,
        batch=record.batch.public_id,
        lot_number=record.batch.lot_number,
        site=record.site,
        given_at=record.given_at,
        source=record.source,
    ).model_dump(mode="json")


@router.get(
    "/facilities/{facility_id}/sessions/today",
    response={200: s.DaySessionsOut, **ERRORS},
    auth=staff,
    summary="Today's sessions at a facility, with their counts",
)
def sessions_today(request: HttpRequest, facility_id: str) -> HttpResponse:
    """Today's sessions: booked, checked in, vaccinated, on-site places and doses left."""
    facility = facility_for_staff(_user(request), facility_id.strip()[:16], FACILITY_STAFF)
    today = timezone.localdate()
    days = queries.sessions_of_day(facility, today)
    out = []
    for day in days:
        suggested = next(
            (
                b.batch
                for b in day.batches
                if b.doses_left > 0 and not b.closed and queries.usable(b.batch, today)
            ),
            None,
        )
        out.append(
            s.DaySessionOut(
                id=day.session.public_id,
                date=day.session.date,
                vaccine=day.session.vaccine.code,
                status=day.session.status,
                booked=day.booked,
                checked_in=day.checked_in,
                vaccinated=day.vaccinated,
                onsite_left=day.onsite_left,
                batches=[
                    s.BatchLeftOut(
                        batch=b.batch.public_id,
                        lot_number=b.batch.lot_number,
                        expires_on=b.batch.expires_on,
                        doses_left=b.doses_left,
                        closed=b.closed,
                    )
                    for b in day.batches
                ],
                suggested_batch=suggested.public_id if suggested else None,
            ).model_dump(mode="json")
        )
    return json_response(200, {"sessions": out})


@router.get(
    "/sessions/{session_id}/appointments",
    response={200: s.FoundListOut, **ERRORS},
    auth=staff,
    summary="Find people booked in a session",
)
def appointments_find(request: HttpRequest, session_id: str, q: str = "") -> HttpResponse:
    """Find by the 14-digit reference, the mobile's last 4 digits, or part of the name."""
    # As on the desk page: the people at the desk, not the whole facility staff.
    session = session_for_staff(_user(request), session_id, CHECKERS)
    found = queries.appointments_found(session, q[:100])
    return json_response(200, {"appointments": [_found_out(a) for a in found]})


@router.post(
    "/appointments/{appointment_id}/check-in",
    response={200: s.FoundOut, **ERRORS},
    auth=staff,
    summary="Check a person in: ID document and security code",
)
def check_in(request: HttpRequest, appointment_id: str, payload: s.CheckInIn) -> HttpResponse:
    """Check a booked person in for today's session."""

    def work(user: User) -> Answer:
        appointment = appointment_for_staff(user, appointment_id, CHECKERS)
        checked = services.appointment_check_in(
            by=user,
            appointment=appointment,
            id_number=payload.id_number,
            security_code=payload.security_code,
        )
        return 200, _found_out(checked)

    return _write(request, work)


@router.post(
    "/sessions/{session_id}/walk-ins",
    response={201: s.FoundOut, **ERRORS},
    auth=staff,
    summary="Register a walk-in and check them in",
)
def walk_in(request: HttpRequest, session_id: str, payload: s.WalkInIn) -> HttpResponse:
    """Register a person who came without a booking, on the session's on-site places."""

    def work(user: User) -> Answer:
        session = session_for_staff(user, session_id, CHECKERS)
        appointment = services.walk_in_register(
            by=user,
            session=session,
            person=services.Person(
                name=payload.name,
                sex=payload.sex,
                birth_year=payload.birth_year,
                birth_date=payload.birth_date,
                id_type_code=payload.id_type,
                id_number=payload.id_number,
                phone=payload.phone,
                language=payload.language,
            ),
        )
        return 201, _found_out(appointment)

    return _write(request, work)


@router.get(
    "/sessions/{session_id}/queue",
    response={200: s.QueueOut, **ERRORS},
    auth=staff,
    summary="The people checked in, waiting for the vaccinator",
)
def queue(request: HttpRequest, session_id: str) -> HttpResponse:
    """Checked-in people, first come first, with the dose the engine gives each today."""
    session = session_for_staff(_user(request), session_id, RECORDERS)
    out = [
        {
            "id": q.appointment.public_id,
            "beneficiary": q.appointment.beneficiary.reference,
            "name": q.appointment.beneficiary.name,
            "checked_in_at": q.appointment.checked_in_at.isoformat()
            if q.appointment.checked_in_at
            else None,
            "dose": q.dose_number if not q.refusal else None,
            "refusal": q.refusal,
        }
        for q in queries.vaccinator_queue(session)
    ]
    return json_response(200, {"queue": out})


@router.post(
    "/appointments/{appointment_id}/vaccination",
    response={201: s.VaccinationOut, **ERRORS},
    auth=staff,
    summary="Record the dose given to a checked-in person",
)
def vaccination(
    request: HttpRequest, appointment_id: str, payload: s.VaccinationIn
) -> HttpResponse:
    """Record one dose: the record, the vial's dose, the appointment, the SMS, together."""

    def work(user: User) -> Answer:
        appointment = appointment_for_staff(user, appointment_id, RECORDERS)
        batch = (
            Batch.objects.filter(
                public_id=payload.batch.strip(),
                vaccine__country_id=appointment.session.facility.country_id,
            )
            .select_related("vaccine")
            .first()
        )
        if batch is None:
            raise DomainError("batch_unknown", _("No batch has this id."), field="batch")
        record = services.vaccination_record(
            by=user, appointment=appointment, batch=batch, site=payload.site
        )
        return 201, _vaccination_out(record)

    return _write(request, work)


@router.post(
    "/appointments/{appointment_id}/not-given",
    response={201: s.NotGivenOut, **ERRORS},
    auth=staff,
    summary="Record that the dose was refused or deferred",
)
def not_given(request: HttpRequest, appointment_id: str, payload: s.NotGivenIn) -> HttpResponse:
    """Record a dose not given to a checked-in person, with the reason."""

    def work(user: User) -> Answer:
        appointment = appointment_for_staff(user, appointment_id, RECORDERS)
        record: NotGiven = services.dose_not_given(
            by=user,
            appointment=appointment,
            kind=payload.kind,
            reason=payload.reason,
            note=payload.note,
            until=payload.until,
        )
        return 201, {
            "id": record.public_id,
            "appointment": appointment.public_id,
            "kind": record.kind,
            "reason": record.reason,
            "dose": record.dose_number,
            "until": record.until.isoformat() if record.until else None,
        }

    return _write(request, work)
