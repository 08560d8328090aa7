"""vaxnet's own API, v1 (`/api/v1/`): citizens sign in with an OTP, manage members, book.

Handlers are thin: check the rate, parse, check access, call a service, answer. Every
refusal is {"error": {"code", "message"}} in the caller's language (Accept-Language, else
the account's language) with the DomainError's status; bad input is 422 in the same shape.
Every POST takes an Idempotency-Key (vaxnet.api.v1_idempotency). docs/api.md has the rest.
"""

from collections.abc import Callable
from datetime import time
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from vaxnet.api.v1_auth import (
    TOKEN_LIFETIME,
    BearerToken,
    api_token_issue,
    api_token_revoke,
    request_token,
    speak,
    token_id,
    token_text,
)
from vaxnet.api.v1_idempotency import Answer, error_body, idempotent, json_response
from vaxnet.api.v1_schemas import (
    AppointmentOut,
    AppointmentsOut,
    BeneficiariesOut,
    BeneficiaryChangeIn,
    BeneficiaryIn,
    BeneficiaryOut,
    BookIn,
    ErrorOut,
    OtpIn,
    OtpOut,
    RescheduleIn,
    TokenIn,
    TokenOut,
)
from vaxnet.booking.access import appointment_for_account
from vaxnet.booking.citizen_queries import (
    members_with_appointments,
    session_for_booking,
    with_kept_session,
)
from vaxnet.booking.models import Appointment, Session, Slot
from vaxnet.booking.services import appointment_book, appointment_cancel, appointment_reschedule
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.i18n import localized
from vaxnet.core.ratelimit import RateLimited, check_rate, count_held_soon, held
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.people.access import beneficiaries_for_account, beneficiary_for_account
from vaxnet.people.models import OTP_VALID_FOR, Account, Beneficiary
from vaxnet.people.services import (
    UNSET,
    beneficiary_add,
    beneficiary_remove,
    beneficiary_update,
    otp_request,
    otp_verify,
)

# Rate limits: (hits, window in seconds). Signed-in callers are counted per account, so
# that a household or an office behind one address is not locked out by its neighbours;
# the per-address caps only stop floods. The OTP endpoints add these to the sign-in
# service's own limits (per number and per client, in vaxnet.people.services). The
# session search has its own, in vaxnet.api.v1_sessions.
OTP_PER_CLIENT = (60, 3600)
BOOKING_PER_ACCOUNT = (20, 3600)
BOOKING_PER_CLIENT = (500, 3600)

bearer = BearerToken()

v1_api = NinjaAPI(
    title="vaxnet API",
    version="1",
    description="vaxnet's own API for citizens: sign in with a mobile OTP, register family "
    "members, find sessions, book, move and cancel appointments. Errors are "
    '{"error": {"code", "message"}} in the caller\'s language. See docs/api.md.',
    urls_namespace="v1",
    # Served offline: "ninja" is an installed app, so the page's scripts are our static files.
    docs_url="/docs",
)

ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


# Errors: one shape for every refusal.


def _speak_to_caller(request: HttpRequest) -> None:
    """Answer in the caller's language, the signed-in account's if the header names none."""
    token = request_token(request)
    speak(request, token.account if token is not None else None)


@v1_api.exception_handler(DomainError)
def _refuse(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = json_response(exc.status, error_body(exc))
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@v1_api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    _speak_to_caller(request)
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    error = DomainError(
        "invalid_input",
        _("Check the request: {field} is missing or not valid.").format(
            field=".".join(location[1:] if location[:1] == ["payload"] else location) or "body"
        ),
        field=".".join(location) or None,
        status=422,
    )
    return _refuse(request, error)


@v1_api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    speak(request)
    error = DomainError(
        "unauthorized", _("Sign in again: the token is missing, expired or ended."), status=401
    )
    response = _refuse(request, error)
    response["WWW-Authenticate"] = "Bearer"
    return response


@v1_api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    _speak_to_caller(request)
    if exc.status_code == 400:  # ninja could not read the body: bad input like any other
        error = DomainError("invalid_input", _("The request body is not valid JSON."), status=422)
    else:
        error = DomainError(f"http_{exc.status_code}", str(exc), status=exc.status_code)
    return _refuse(request, error)


@v1_api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    _speak_to_caller(request)
    return _refuse(request, NotFound())


# Helpers


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _country() -> Country:
    country = active_country()
    if country is None:  # pragma: no cover - a deployment without its pack serves nothing
        raise NotFound()
    return country


def _account(request: HttpRequest) -> Account:
    account: Account = request.auth  # type: ignore[attr-defined]
    return account


def _scope(account: Account) -> str:
    return f"account:{account.pk}"


def _rate(key: str, limit: tuple[int, int]) -> None:
    check_rate(f"api:v1:{key}", limit[0], limit[1])


def _booking_rate(request: HttpRequest, account: Account) -> None:
    # Both counted in this process and sent to Redis with other requests' hits, in this
    # order; the first refusal (decided by Redis) stops the other.
    with held() as hits:
        _rate(f"booking:account:{account.pk}", BOOKING_PER_ACCOUNT)
        _rate(f"booking:client:{_client(request)}", BOOKING_PER_CLIENT)
        count_held_soon(hits)


def _booking_write(request: HttpRequest, work: Callable[[Account], Answer]) -> HttpResponse:
    """Run a change to the caller's bookings: within their limits, once per Idempotency-Key."""
    account = _account(request)
    _booking_rate(request, account)
    return idempotent(request, scope=_scope(account), work=lambda: work(account))


def _hhmm(moment: time | None) -> str | None:
    return None if moment is None else f"{moment:%H:%M}"


def _slot(session: Session, start: str) -> Slot:
    """Return the session's slot that starts at HH:MM, or refuse."""
    for slot in session.slots.all():
        if _hhmm(slot.starts_at) == start.strip():
            return slot
    raise DomainError("slot_unknown", _("Choose a time slot of this session."), field="slot")


def _session(account: Account, public_id: str) -> Session:
    return _offered(session_for_booking(account.country, public_id))


def _offered(session: Session | None) -> Session:
    if session is None:
        raise DomainError("session_unknown", _("This session is not offered."), field="session")
    return session


def _book(account: Account, session: Session | None, payload: BookIn) -> list[Appointment]:
    """Book the slot the payload names (by its start, HH:MM) for the members it names."""
    offered = _offered(session)
    slot = _slot(offered, payload.slot)
    members = beneficiaries_for_account(account, payload.beneficiaries)
    return appointment_book(beneficiaries=members, session=offered, slot=slot)


def _beneficiary_out(beneficiary: Beneficiary) -> dict[str, Any]:
    return BeneficiaryOut(
        reference=beneficiary.reference,
        name=beneficiary.name,
        sex=beneficiary.sex,
        birth_year=beneficiary.birth_year,
        birth_date=beneficiary.birth_date,
        id_type=beneficiary.id_type.code,
        id_number=beneficiary.masked_id(),
    ).model_dump(mode="json")


def _appointment_out(appointment: Appointment) -> dict[str, Any]:
    session = appointment.session
    slot = appointment.slot
    return AppointmentOut(
        id=appointment.public_id,
        beneficiary=appointment.beneficiary.reference,
        name=appointment.beneficiary.name,
        session=session.public_id,
        centre=localized(session.facility.names),
        date=session.date,
        slot_start=_hhmm(slot.starts_at) if slot else None,
        slot_end=_hhmm(slot.ends_at) if slot else None,
        vaccine=session.vaccine.code,
        dose=appointment.dose_number,
        status=appointment.status,
        security_code=appointment.security_code,
    ).model_dump(mode="json")


# Sign-in


@v1_api.post(
    "/auth/otp",
    response={200: OtpOut, **ERRORS},
    summary="Send a sign-in code by SMS",
    tags=["Sign-in"],
)
def auth_otp(request: HttpRequest, payload: OtpIn) -> HttpResponse:
    """Send a 6-digit code to a mobile number; answer the transaction id to sign in with."""
    speak(request)
    client = _client(request)
    _rate(f"otp:client:{client}", OTP_PER_CLIENT)

    def work() -> Answer:
        challenge = otp_request(
            country=_country(), phone=payload.phone, client=client, language=payload.language
        )
        expires_in = int(OTP_VALID_FOR.total_seconds())
        return 200, OtpOut(txn=challenge.public_id, expires_in=expires_in).model_dump()

    return idempotent(request, scope=f"client:{client}", work=work)


@v1_api.post(
    "/auth/token",
    response={200: TokenOut, **ERRORS},
    summary="Sign in with the code: get a bearer token",
    tags=["Sign-in"],
)
def auth_token(request: HttpRequest, payload: TokenIn) -> HttpResponse:
    """Check the code sent for a transaction; answer a bearer token valid for 30 minutes."""
    speak(request)
    client = _client(request)
    _rate(f"otp:client:{client}", OTP_PER_CLIENT)

    def work() -> Answer:
        account = otp_verify(txn=payload.txn, code=payload.code, client=client)
        token = api_token_issue(account=account)
        return 200, TokenOut(
            token=token_text(token.public_id),
            expires_in=int(TOKEN_LIFETIME.total_seconds()),
        ).model_dump()

    # The kept answer holds the token's id, not the token: it is signed again on replay.
    return idempotent(
        request,
        scope=f"client:{client}",
        work=work,
        seal=lambda data: {**data, "token": token_id(data["token"])},
        unseal=lambda data: {**data, "token": token_text(data["token"])},
    )


@v1_api.post(
    "/auth/sign-out",
    response={204: None, **ERRORS},
    auth=bearer,
    summary="End the bearer token",
    tags=["Sign-in"],
)
def auth_sign_out(request: HttpRequest) -> HttpResponse:
    """End the token this request carries; it is refused from now on."""
    account = _account(request)
    token = request_token(request)

    def work() -> Answer:
        if token is not None:
            api_token_revoke(token=token)
        return 204, None

    return idempotent(request, scope=_scope(account), work=work)


# Beneficiaries


@v1_api.get(
    "/beneficiaries",
    response={200: BeneficiariesOut, **ERRORS},
    auth=bearer,
    summary="The people registered on the account",
    tags=["Beneficiaries"],
)
def beneficiaries_list(request: HttpRequest) -> HttpResponse:
    """Every person registered on the account, in the order they were added."""
    account = _account(request)
    members = Beneficiary.objects.filter(account=account).select_related("id_type")
    return json_response(
        200, {"beneficiaries": [_beneficiary_out(b) for b in members.order_by("created_at", "pk")]}
    )


@v1_api.post(
    "/beneficiaries",
    response={201: BeneficiaryOut, **ERRORS},
    auth=bearer,
    summary="Register a person on the account",
    tags=["Beneficiaries"],
)
def beneficiaries_add(request: HttpRequest, payload: BeneficiaryIn) -> HttpResponse:
    """Register a person, identified by one ID document, on the account."""
    account = _account(request)

    def work() -> Answer:
        beneficiary = beneficiary_add(
            account=account,
            name=payload.name,
            sex=payload.sex,
            birth_year=payload.birth_year,
            birth_date=payload.birth_date,
            id_type_code=payload.id_type,
            id_number=payload.id_number,
        )
        return 201, _beneficiary_out(beneficiary)

    return idempotent(request, scope=_scope(account), work=work)


@v1_api.patch(
    "/beneficiaries/{reference}",
    response={200: BeneficiaryOut, **ERRORS},
    auth=bearer,
    summary="Correct a person's details",
    tags=["Beneficiaries"],
)
def beneficiaries_change(
    request: HttpRequest, reference: str, payload: BeneficiaryChangeIn
) -> HttpResponse:
    """Change the fields given (before the first dose); a new ID type needs its number."""
    account = _account(request)
    beneficiary = beneficiary_for_account(account, reference)
    given = payload.model_fields_set
    changed = beneficiary_update(
        account=account,
        beneficiary=beneficiary,
        name=payload.name,
        sex=payload.sex,
        birth_year=payload.birth_year,
        birth_date=payload.birth_date if "birth_date" in given else UNSET,
        id_type_code=payload.id_type,
        id_number=payload.id_number,
    )
    return json_response(200, _beneficiary_out(changed))


@v1_api.delete(
    "/beneficiaries/{reference}",
    response={204: None, **ERRORS},
    auth=bearer,
    summary="Remove a person from the account",
    tags=["Beneficiaries"],
)
def beneficiaries_remove(request: HttpRequest, reference: str) -> HttpResponse:
    """Remove a person who has no dose and no appointment on record."""
    account = _account(request)
    beneficiary_remove(account=account, beneficiary=beneficiary_for_account(account, reference))
    return HttpResponse(status=204)


# Appointments


@v1_api.get(
    "/appointments",
    response={200: AppointmentsOut, **ERRORS},
    auth=bearer,
    summary="The account's appointments",
    tags=["Appointments"],
)
def appointments_list(request: HttpRequest) -> HttpResponse:
    """Every appointment of the account's members, latest session first, with security codes."""
    account = _account(request)
    appointments = [
        appointment
        for member in members_with_appointments(account)
        for appointment in member.appointment_list  # type: ignore[attr-defined]
    ]
    appointments.sort(key=lambda a: (a.session.date, a.created_at), reverse=True)
    return json_response(200, {"appointments": [_appointment_out(a) for a in appointments]})


@v1_api.post(
    "/appointments",
    response={201: AppointmentsOut, **ERRORS},
    auth=bearer,
    summary="Book a slot for members of the account",
    tags=["Appointments"],
)
def appointments_book(request: HttpRequest, payload: BookIn) -> HttpResponse:
    """Book one slot of a session for one or more members: all of them or none."""

    def work(account: Account) -> Answer:
        booked = with_kept_session(
            account.country, payload.session, lambda session: _book(account, session, payload)
        )
        return 201, {"appointments": [_appointment_out(a) for a in booked]}

    return _booking_write(request, work)


@v1_api.post(
    "/appointments/{appointment_id}/cancel",
    response={200: AppointmentOut, **ERRORS},
    auth=bearer,
    summary="Cancel an appointment",
    tags=["Appointments"],
)
def appointments_cancel(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """Cancel a booked appointment and give its place back."""

    def work(account: Account) -> Answer:
        appointment = appointment_for_account(account, appointment_id)
        return 200, _appointment_out(appointment_cancel(appointment=appointment))

    return _booking_write(request, work)


@v1_api.post(
    "/appointments/{appointment_id}/reschedule",
    response={200: AppointmentOut, **ERRORS},
    auth=bearer,
    summary="Move an appointment to another slot or session",
    tags=["Appointments"],
)
def appointments_reschedule(
    request: HttpRequest, appointment_id: str, payload: RescheduleIn
) -> HttpResponse:
    """Move a booked appointment; on a refusal the old place is kept."""

    def work(account: Account) -> Answer:
        appointment = appointment_for_account(account, appointment_id)
        session = _session(account, payload.session)
        slot = _slot(session, payload.slot)
        moved = appointment_reschedule(appointment=appointment, session=session, slot=slot)
        return 200, _appointment_out(moved)

    return _booking_write(request, work)


v1_api.add_router("", "vaxnet.api.v1_fair.router")  # the fair draw and the waiting list
v1_api.add_router("", "vaxnet.api.v1_sessions.router")  # public session search
v1_api.add_router("", "vaxnet.api.v1_coldchain.router")  # cold chain: data loggers
v1_api.add_router("", "vaxnet.api.v1_stock.router")  # stock for staff: stores, ledger, batches
v1_api.add_router("", "vaxnet.api.v1_stock_transfers.router")  # transfers and requisitions
v1_api.add_router("", "vaxnet.api.v1_stock_sessions.router")  # session vials, cold chain by hand
v1_api.add_router("", "vaxnet.api.v1_stock_reports.router")  # stock reports and alerts
v1_api.add_router("", "vaxnet.api.v1_vaccination.router")  # check-in, walk-ins, doses
v1_api.add_router("", "vaxnet.api.v1_sync.router")  # offline vaccinator devices
v1_api.add_router("", "vaxnet.api.v1_session_close.router")  # closing a session
v1_api.add_router("", "vaxnet.api.v1_corrections.router")  # entered in error, merges
v1_api.add_router("", "vaxnet.api.v1_aefi.router")  # adverse events following immunisation
v1_api.add_router("", "vaxnet.api.v1_certificates.router")  # verification
v1_api.add_router("", "vaxnet.api.v1_certificate_downloads.router")  # certificates and PDFs
v1_api.add_router("", "vaxnet.api.v1_certificate_corrections.router")  # personal details
v1_api.add_router("", "vaxnet.api.v1_dashboard.router")  # the public dashboard, open data
