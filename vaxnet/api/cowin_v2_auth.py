"""The CoWIN public API v2, signed-in side: OTP sign-in, beneficiaries, booking; rate limits.

CoWIN clients sign in with the SHA-256 of the SMS code and then book with a bearer token,
unchanged. Handlers are thin: count the rate, parse, check access (`people.access`,
`booking.access`), call the same services as the pages and `/api/v1/`, answer. Refusals
are CoWIN's {"errorCode", "error"}: the DomainError's code maps to a stable CoWIN-style code
(`COWIN_CODES`) and its message is in the caller's language. docs/api.md has the mapping.
"""

from collections.abc import Callable
from typing import Any

from django.core.signing import BadSignature, Signer
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja.security import HttpBearer

from vaxnet.api import cowin_v2_render as render
from vaxnet.api.cowin_v2_auth_schemas import (
    BeneficiariesOut,
    CancelIn,
    ConfirmationOut,
    ConfirmIn,
    MobileIn,
    MobileWithSecretIn,
    RescheduleIn,
    ScheduleIn,
    TokenOut,
    TxnOut,
    ValidatedOut,
)
from vaxnet.api.cowin_v2_schemas import CowinErrorOut
from vaxnet.api.v1_auth import (
    BearerToken,
    api_token_issue,
    optional_account,
    speak,
    token_for,
    token_id,
    token_text,
)
from vaxnet.api.v1_idempotency import Answer, idempotent, json_response
from vaxnet.booking import availability
from vaxnet.booking.access import appointment_for_account
from vaxnet.booking.citizen_queries import members_with_appointments, session_for_booking
from vaxnet.booking.models import Appointment, Session, Slot
from vaxnet.booking.queries import dose_histories
from vaxnet.booking.services import appointment_book, appointment_cancel, appointment_reschedule
from vaxnet.booking.slip import appointment_slip_pdf
from vaxnet.certificates.documents import (
    DOMESTIC,
    KeptDocument,
    current_certificate,
    document_choice,
    download_of,
)
from vaxnet.certificates.download_views import (
    document_response,
    kept_response,
)
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.middleware import client_address
from vaxnet.core.ratelimit import RateLimited, check_rate, count_held_soon, held
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import Account
from vaxnet.people.services import otp_request, otp_sign_in, otp_verify

# Rate limits: (hits, window in seconds). Public reads: one counter per client address
# (CoWIN's 100 calls per 5 minutes per IP), or per account when a bearer token comes with
# them. Signed-in calls count per account, so that a household or an office behind one
# address is not locked out by its neighbours; the per-address cap only stops floods.
PUBLIC_PER_CLIENT = (100, 300)
PUBLIC_PER_ACCOUNT = (100, 300)
SIGNED_IN_PER_CLIENT = (2000, 300)
READS_PER_ACCOUNT = (100, 300)
OTP_PER_CLIENT = (60, 3600)
BOOKING_PER_ACCOUNT = (20, 3600)
BOOKING_PER_CLIENT = (500, 3600)

# vaxnet's refusal codes → CoWIN-style errorCodes. CoWIN's own codes where clients know
# their meaning (USRAUT0014 wrong OTP, APPOIN0022 already booked, APPOIN0040 centre full);
# vaxnet's from 0101 up, which CoWIN never used. Stable: clients may compare them.
COWIN_CODES = {
    "invalid_input": "USRRES0001",
    "not_found": "USRRES0101",
    "rate_limited": "USRRES0102",
    "idempotency_key_invalid": "USRRES0103",
    "idempotency_key_reused": "USRRES0104",
    "idempotency_in_progress": "USRRES0105",
    "otp_invalid": "USRAUT0014",
    "otp_expired": "USRAUT0101",
    "otp_used": "USRAUT0102",
    "otp_locked": "USRAUT0103",
    "phone_invalid": "USRAUT0104",
    "account_inactive": "USRAUT0105",
    "unauthorized": "USRAUT0106",
    "already_booked": "APPOIN0022",
    "dose_full": "APPOIN0040",
    "slot_full": "APPOIN0040",
    "session_unknown": "APPOIN0101",
    "slot_unknown": "APPOIN0102",
    "dose_mismatch": "APPOIN0103",
    "not_released": "APPOIN0104",
    "fair_window_open": "APPOIN0105",
    "draw_pending": "APPOIN0106",
    "session_closed": "APPOIN0107",
    "session_over": "APPOIN0108",
    "same_day_closed": "APPOIN0109",
    "not_cancellable": "APPOIN0110",
    "dose_not_offered": "APPOIN0111",
    "age_not_in_session": "APPOIN0112",
    "no_beneficiary": "APPOIN0113",
    "beneficiaries_mixed": "APPOIN0114",
    "too_young": "APPOIN0120",
    "too_old": "APPOIN0121",
    "too_early": "APPOIN0122",
    "series_complete": "APPOIN0123",
    "other_product": "APPOIN0124",
    "same_product_required": "APPOIN0125",
    "birth_date_required": "APPOIN0126",
    "no_certificate": "CERTIF0101",
}
# Any other refusal, with its own status.
OTHER_REFUSAL = "USRRES0199"
# CoWIN answered a full centre with 409, which clients retry elsewhere.
STATUS_FOR = {"dose_full": 409, "slot_full": 409}

ERRORS: dict[int, type[Schema]] = {
    400: CowinErrorOut,
    401: CowinErrorOut,
    404: CowinErrorOut,
    409: CowinErrorOut,
    422: CowinErrorOut,
    429: CowinErrorOut,
}

router = Router()


# Refusals and rates


def refusal(error: DomainError) -> tuple[int, dict[str, str]]:
    """Return the status and CoWIN's error body for a refusal, in the active language."""
    code = COWIN_CODES.get(error.code, OTHER_REFUSAL)
    status = STATUS_FOR.get(error.code, error.status)
    return status, {"errorCode": code, "error": str(error.message)}


def refusal_response(error: DomainError) -> HttpResponse:
    """Return the answer to a refusal (with Retry-After for a rate limit)."""
    status, body = refusal(error)
    response = json_response(status, body)
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return response


def _rate(key: str, limit: tuple[int, int]) -> None:
    check_rate(f"api:v2:{key}", limit[0], limit[1])


def public_rate(request: HttpRequest) -> None:
    """Count a public read: one cache counter per address, or per account with a token."""
    if "HTTP_AUTHORIZATION" in request.META:
        account = optional_account(request)
        if account is not None:
            _rate(f"signed-in:client:{client_address(request)}", SIGNED_IN_PER_CLIENT)
            _rate(f"public:account:{account.pk}", PUBLIC_PER_ACCOUNT)
            return
    _rate(f"public:client:{client_address(request)}", PUBLIC_PER_CLIENT)


def refused_rate(request: HttpRequest) -> None:
    """Count a request refused before its handler ran (bad parameters) against its address."""
    if getattr(request, "auth", None) is None:
        _rate(f"public:client:{client_address(request)}", PUBLIC_PER_CLIENT)


def _reads_rate(account: Account) -> None:
    _rate(f"reads:account:{account.pk}", READS_PER_ACCOUNT)


def _booking_rate(request: HttpRequest, account: Account) -> None:
    # Counted in this process and sent to Redis with other requests' hits (as v1 does).
    with held() as hits:
        _rate(f"booking:account:{account.pk}", BOOKING_PER_ACCOUNT)
        _rate(f"booking:client:{client_address(request)}", BOOKING_PER_CLIENT)
        count_held_soon(hits)


class CowinBearer(BearerToken):
    """The v1 bearer token, with the per-address flood cap counted before it is checked."""

    def __call__(self, request: HttpRequest) -> Account | None:
        _rate(f"signed-in:client:{client_address(request)}", SIGNED_IN_PER_CLIENT)
        found: Account | None = super().__call__(request)
        return found


bearer = CowinBearer()


def _idempotent(
    request: HttpRequest,
    *,
    scope: str,
    work: Callable[[], Answer],
    seal: Callable[[Any], Any] | None = None,
    unseal: Callable[[Any], Any] | None = None,
) -> HttpResponse:
    """Do the work once per Idempotency-Key, keeping refusals in CoWIN's shape."""

    def cowin_work() -> Answer:
        try:
            return work()
        except RateLimited:
            raise  # not kept: a retry after the wait may succeed
        except DomainError as error:
            return refusal(error)

    return idempotent(request, scope=f"cowin:{scope}", work=cowin_work, seal=seal, unseal=unseal)


def _country() -> Country:
    country = active_country()
    if country is None:  # pragma: no cover - a deployment without its pack serves nothing
        raise NotFound()
    return country


def _account(request: HttpRequest) -> Account:
    account: Account = request.auth  # type: ignore[attr-defined]
    return account


# Tokens of the public sign-in: the same ApiToken rows, signed in their own domain, so that
# they can never stand for a token of the appointment calls (nor the other way round).

_PUBLIC_SALT = "vaxnet.api.v2.public-token"


def public_token_text(token_id: str) -> str:
    """Return the token /auth/public/confirmOTP hands out for an ApiToken id."""
    return Signer(salt=_PUBLIC_SALT).sign(token_id)


def public_token_id(text: str) -> str | None:
    """Return the ApiToken id a public token carries if its signature is right, else None."""
    try:
        return Signer(salt=_PUBLIC_SALT).unsign(text.strip()[:200])
    except BadSignature:
        return None


def public_token_account(text: str) -> Account | None:
    """Return the account of a live public token (for certificate downloads), else None."""
    found = public_token_id(text)
    token = token_for(token_text(found)) if found is not None else None
    return token.account if token is not None else None


# Sign-in


def _send_code(request: HttpRequest, mobile: str) -> HttpResponse:
    language = speak(request)
    client = client_address(request)
    _rate(f"otp:client:{client}", OTP_PER_CLIENT)

    def work() -> Answer:
        challenge = otp_request(country=_country(), phone=mobile, client=client, language=language)
        return 200, {"txnId": challenge.public_id}

    return _idempotent(request, scope=f"client:{client}", work=work)


@router.post(
    "/auth/public/generateOTP",
    response={200: TxnOut, **ERRORS},
    summary="Send a sign-in code by SMS (public sign-in)",
    tags=["Sign-in"],
    by_alias=True,
)
def public_generate_otp(request: HttpRequest, payload: MobileIn) -> HttpResponse:
    """Send a 6-digit code to a mobile number; answer the transaction to confirm."""
    return _send_code(request, payload.mobile)


@router.post(
    "/auth/public/confirmOTP",
    response={200: TokenOut, **ERRORS},
    summary="Confirm the code: get a public token",
    tags=["Sign-in"],
    by_alias=True,
)
def public_confirm_otp(request: HttpRequest, payload: ConfirmIn) -> HttpResponse:
    """Check the SHA-256 of the code; answer a token for certificate downloads (30 minutes)."""
    speak(request)
    client = client_address(request)
    _rate(f"otp:client:{client}", OTP_PER_CLIENT)

    def work() -> Answer:
        account = otp_verify(txn=payload.txnId, code_sha256=payload.otp, client=client)
        return 200, {"token": public_token_text(api_token_issue(account=account).public_id)}

    # The kept answer holds the token's id, not the token: it is signed again on replay.
    return _idempotent(
        request,
        scope=f"client:{client}",
        work=work,
        seal=lambda data: {**data, "token": public_token_id(data["token"])},
        unseal=lambda data: {**data, "token": public_token_text(data["token"])},
    )


@router.post(
    "/auth/generateMobileOTP",
    response={200: TxnOut, **ERRORS},
    summary="Send a sign-in code by SMS",
    tags=["Sign-in"],
    by_alias=True,
)
def generate_mobile_otp(request: HttpRequest, payload: MobileWithSecretIn) -> HttpResponse:
    """Send a 6-digit code to a mobile number; `secret` is accepted and ignored."""
    return _send_code(request, payload.mobile)


@router.post(
    "/auth/validateMobileOtp",
    response={200: ValidatedOut, **ERRORS},
    summary="Sign in with the code: get a bearer token",
    tags=["Sign-in"],
    by_alias=True,
)
def validate_mobile_otp(request: HttpRequest, payload: ConfirmIn) -> HttpResponse:
    """Check the SHA-256 of the code; answer a bearer token valid for 30 minutes."""
    speak(request)
    client = client_address(request)
    _rate(f"otp:client:{client}", OTP_PER_CLIENT)

    def work() -> Answer:
        signed_in = otp_sign_in(txn=payload.txnId, code_sha256=payload.otp, client=client)
        token = api_token_issue(account=signed_in.account)
        return 200, {
            "token": token_text(token.public_id),
            "isNewAccount": "Y" if signed_in.new_account else "N",
        }

    return _idempotent(
        request,
        scope=f"client:{client}",
        work=work,
        seal=lambda data: {**data, "token": token_id(data["token"])},
        unseal=lambda data: {**data, "token": token_text(data["token"])},
    )


# Beneficiaries and appointments


@router.get(
    "/appointment/beneficiaries",
    response={200: BeneficiariesOut, **ERRORS},
    auth=bearer,
    summary="The people registered on the account, with their appointments",
    tags=["Appointment"],
    by_alias=True,
)
def beneficiaries(request: HttpRequest) -> HttpResponse:
    """Every person on the account, in the order added, with their live appointments."""
    account = _account(request)
    _reads_rate(account)
    language = speak(request, account)
    members = members_with_appointments(account)
    live: dict[int, list[Appointment]] = {
        member.pk: [a for a in member.appointment_list if a.is_live()]  # type: ignore[attr-defined]
        for member in members
    }
    places = availability.places(
        appointment.session.facility for listed in live.values() for appointment in listed
    )
    histories = dose_histories(members)
    listed = [
        render.beneficiary(
            member,
            doses=histories[member.pk],
            appointments=[
                render.appointment(a, places[a.session.facility_id], language)
                for a in live[member.pk]
            ],
            phone=account.phone,
        )
        for member in members
    ]
    return json_response(200, {"beneficiaries": listed})


def _session(account: Account, public_id: str, center_id: int | None = None) -> Session:
    session = session_for_booking(account.country, public_id)
    if session is None or (center_id is not None and session.facility_id != center_id):
        raise DomainError("session_unknown", _("This session is not offered."), field="session")
    return session


def _slot(session: Session, label: str) -> Slot:
    """Return the session's slot with this CoWIN label ("09:00AM-11:00AM"), or refuse."""
    wanted = "".join(label.split()).upper()
    for slot in session.slots.all():
        if render.slot_label(slot.starts_at, slot.ends_at) == wanted:
            return slot
    raise DomainError("slot_unknown", _("Choose a time slot of this session."), field="slot")


@router.post(
    "/appointment/schedule",
    response={200: ConfirmationOut, **ERRORS},
    auth=bearer,
    summary="Book a slot for people of the account",
    tags=["Appointment"],
    by_alias=True,
)
def schedule(request: HttpRequest, payload: ScheduleIn) -> HttpResponse:
    """Book one slot of a session for one or more people, all or none; one confirmation."""
    account = _account(request)
    _booking_rate(request, account)

    def work() -> Answer:
        session = _session(account, payload.session_id, payload.center_id)
        slot = _slot(session, payload.slot)
        members = [beneficiary_for_account(account, ref) for ref in payload.beneficiaries]
        with transaction.atomic():
            booked = appointment_book(beneficiaries=members, session=session, slot=slot)
            for appointment in booked:
                if payload.dose is not None and appointment.dose_number != payload.dose:
                    # Undone with the transaction: the client asked for another dose.
                    raise DomainError(
                        "dose_mismatch",
                        _("{name} is due dose {number}, not dose {asked}.").format(
                            name=appointment.beneficiary.name,
                            number=appointment.dose_number,
                            asked=payload.dose,
                        ),
                        field="dose",
                    )
        return 200, {"appointment_confirmation_no": booked[0].public_id}

    return _idempotent(request, scope=f"account:{account.pk}", work=work)


@router.post(
    "/appointment/reschedule",
    response={204: None, **ERRORS},
    auth=bearer,
    summary="Move an appointment to another slot or session",
    tags=["Appointment"],
    by_alias=True,
)
def reschedule(request: HttpRequest, payload: RescheduleIn) -> HttpResponse:
    """Move one person's booked appointment; on a refusal the old place is kept."""
    account = _account(request)
    _booking_rate(request, account)

    def work() -> Answer:
        appointment = appointment_for_account(account, payload.appointment_id)
        session = _session(account, payload.session_id)
        slot = _slot(session, payload.slot)
        appointment_reschedule(appointment=appointment, session=session, slot=slot)
        return 204, None

    return _idempotent(request, scope=f"account:{account.pk}", work=work)


def _to_cancel(account: Account, appointment: Appointment, references: list[str]) -> list[str]:
    """Return the public ids of the listed people's appointments in the same session.

    The appointment named stands for its own person whatever its status (cancelling it
    twice is refused as not cancellable); the others need a live one in that session.
    """
    wanted: list[str] = []
    for reference in references or [appointment.beneficiary.reference]:
        person = beneficiary_for_account(account, reference)
        if person.pk == appointment.beneficiary_id:
            found: str | None = appointment.public_id
        else:
            found = (
                Appointment.objects.filter(
                    beneficiary=person,
                    session_id=appointment.session_id,
                    status__in=Appointment.LIVE,
                )
                .values_list("public_id", flat=True)
                .first()
            )
        if found is None:
            raise NotFound()
        if found not in wanted:
            wanted.append(found)
    return wanted


@router.post(
    "/appointment/cancel",
    response={204: None, **ERRORS},
    auth=bearer,
    summary="Cancel an appointment",
    tags=["Appointment"],
    by_alias=True,
)
def cancel(request: HttpRequest, payload: CancelIn) -> HttpResponse:
    """Cancel the listed people's appointments in the appointment's session, all or none."""
    account = _account(request)
    _booking_rate(request, account)

    def work() -> Answer:
        appointment = appointment_for_account(account, payload.appointment_id)
        wanted = _to_cancel(account, appointment, payload.beneficiariesToCancel)
        with transaction.atomic():
            for public_id in wanted:
                # Through the access chokepoint, like the appointment named in the request.
                appointment_cancel(appointment=appointment_for_account(account, public_id))
        return 204, None

    return _idempotent(request, scope=f"account:{account.pk}", work=work)


@router.get(
    "/appointment/appointmentslip/download",
    response={200: None, **ERRORS},
    auth=bearer,
    summary="The appointment slip (PDF)",
    tags=["Appointment"],
    by_alias=True,
)
def appointment_slip(request: HttpRequest, appointment_id: str) -> HttpResponse:
    """The A5 slip with the security code and the QR code, in the account's language."""
    account = _account(request)
    _reads_rate(account)
    appointment = appointment_for_account(account, appointment_id[:40])
    response = HttpResponse(appointment_slip_pdf(appointment), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="appointment-{appointment.public_id}.pdf"'
    )
    return response


# Certificates


class CertificateBearer(HttpBearer):
    """The public token of /auth/public/confirmOTP, or the bearer token of the appointment calls."""

    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        _rate(f"signed-in:client:{client_address(request)}", SIGNED_IN_PER_CLIENT)
        account = public_token_account(token)
        if account is None:
            found = token_for(token)
            account = found.account if found is not None else None
        if account is not None:
            speak(request, account)
        return account


@router.get(
    "/registration/certificate/public/download",
    response={200: None, **ERRORS},
    auth=CertificateBearer(),
    summary="The vaccination certificate (PDF)",
    tags=["Certificate"],
    by_alias=True,
)
def certificate_download(request: HttpRequest, beneficiary_reference_id: str) -> HttpResponse:
    """The person's domestic certificate in the account's language, as a PDF."""
    account = _account(request)
    _reads_rate(account)
    if not beneficiary_reference_id.strip():
        raise DomainError("invalid_input", _("Input parameter missing."), field="beneficiary")
    # A repeat download, the common case at a peak: the kept PDF in one query; a first
    # render: what it needs from the same query.
    found = download_of(
        account=account,
        reference=beneficiary_reference_id.strip()[:40],
        target="covid19",
        language=account.language,
        variant=DOMESTIC,
    )
    if isinstance(found, KeptDocument):
        return kept_response(request, found)
    if found is not None:
        return document_response(request, *found, kept_missing=True)
    beneficiary = beneficiary_for_account(account, beneficiary_reference_id[:40])
    # CoWIN's certificate was for COVID-19; another disease's is given where a pack has no
    # COVID-19 certificate for the person.
    try:
        certificate = current_certificate(beneficiary, "covid19")
    except DomainError:
        certificate = current_certificate(beneficiary)
    certificate, choice = document_choice(
        certificate=certificate, language=account.language, variant=DOMESTIC, codes=()
    )
    return document_response(request, certificate, choice)
