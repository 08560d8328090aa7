"""v1 API: adverse events following immunisation (`/api/v1/aefi/...`).

Staff call with their Django session and the CSRF token on writes (v1_stock's StaffSession);
an event, a dose or a person is reached through core.access, so that what is missing or out
of scope answers 404 alike. Citizens report for a member of their account with a bearer
token (`/api/v1/beneficiaries/{reference}/aefi`). Every POST takes an Idempotency-Key.
"""

from datetime import datetime
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema

from vaxnet.api.v1_auth import BearerToken
from vaxnet.api.v1_idempotency import Answer, idempotent, json_response
from vaxnet.api.v1_stock import ERRORS, _user, staff
from vaxnet.core.access import aefi_for_staff, beneficiary_for_staff, vaccination_for_staff
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.ratelimit import check_rate
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import Account
from vaxnet.vaccination import aefi as services
from vaxnet.vaccination.models import Aefi, Vaccination
from vaxnet.vaccination.roles import AEFI_FOLLOWERS, AEFI_REPORTERS

router = Router(tags=["Adverse events"])
bearer = BearerToken()

# Reports per caller (hits, window in seconds): far above any real day, below a flood.
REPORTS_PER_USER = (300, 3600)
REPORTS_PER_ACCOUNT = (20, 3600)
PER_PAGE = 50
_TEXT = 2000


class AefiIn(Schema):
    """A staff report: the dose (in scope, or of a person in scope) and the core variables."""

    vaccination: str
    beneficiary: str | None = None
    onset_at: datetime
    symptoms: list[str]
    severity: str
    criteria: list[str] = []
    outcome: str
    description: str = ""


class CitizenAefiIn(Schema):
    """A citizen's report for a member of the account: the dose, the variables, who reports."""

    vaccination: str
    onset_at: datetime
    symptoms: list[str]
    severity: str
    criteria: list[str] = []
    outcome: str
    description: str = ""
    reporter_name: str


class FollowUpIn(Schema):
    """An administrator's follow-up: what it found and did, the outcome now, close or not."""

    note: str
    outcome: str
    close: bool = False


class CloseIn(Schema):
    """Closing an event, with an optional note (a severe or serious one needs its follow-up)."""

    note: str = ""


class AefiQuery(Schema):
    """Filters of the list of events."""

    status: str | None = None
    severity: str | None = None
    page: int = 1


class AefiOut(Schema):
    """An adverse event as the API answers it."""

    id: str
    beneficiary: str
    name: str
    vaccination: str | None
    vaccine: str | None
    dose: int | None
    facility: str
    onset_at: datetime
    symptoms: list[str]
    description: str
    severity: str
    criteria: list[str]
    outcome: str
    reporter: str
    reporter_name: str
    reported_at: datetime
    status: str
    follow_up: str
    followed_up_at: datetime | None


class OpenCountsOut(Schema):
    """Open events by severity."""

    minor: int
    severe: int
    serious: int


class AefiListOut(Schema):
    """A page of events in scope, open and serious first, and the open counts."""

    count: int
    page: int
    pages: int
    open: OpenCountsOut
    events: list[AefiOut]


def _out(aefi: Aefi) -> dict[str, Any]:
    dose: Vaccination | None = aefi.vaccination
    return AefiOut(
        id=aefi.public_id,
        beneficiary=aefi.beneficiary.reference,
        name=aefi.beneficiary.name,
        vaccination=dose.public_id if dose else None,
        vaccine=dose.vaccine.code if dose else None,
        dose=dose.dose_number if dose else None,
        facility=aefi.facility.code,
        onset_at=aefi.onset_at,
        symptoms=list(aefi.symptoms),
        description=aefi.description,
        severity=aefi.severity,
        criteria=list(aefi.criteria),
        outcome=aefi.outcome,
        reporter=aefi.reporter_kind,
        reporter_name=aefi.reporter_name,
        reported_at=aefi.reported_at,
        status=aefi.status,
        follow_up=aefi.follow_up,
        followed_up_at=aefi.followed_up_at,
    ).model_dump(mode="json")


def _staff_write(request: HttpRequest, work: Any) -> HttpResponse:
    user = _user(request)
    check_rate(f"api:v1:aefi:user:{user.pk}", REPORTS_PER_USER[0], REPORTS_PER_USER[1])
    return idempotent(request, scope=f"user:{user.pk}", work=lambda: work(user))


def _dose(user: User, payload: AefiIn) -> Vaccination:
    """Return the dose reported against: in scope, or of a person in scope."""
    if payload.beneficiary:
        person = beneficiary_for_staff(user, payload.beneficiary, roles=AEFI_REPORTERS)
        return services.dose_of(person, payload.vaccination)
    return vaccination_for_staff(user, payload.vaccination, roles=AEFI_REPORTERS)


@router.post(
    "/aefi",
    response={201: AefiOut, **ERRORS},
    auth=staff,
    summary="Report an adverse event following immunisation (staff)",
)
def aefi_report(request: HttpRequest, payload: AefiIn) -> HttpResponse:
    """Report an event after a dose; a severe or serious one alerts the district by email."""

    def work(user: User) -> Answer:
        aefi = services.aefi_report_by_staff(
            by=user,
            vaccination=_dose(user, payload),
            onset_at=payload.onset_at,
            symptoms=payload.symptoms,
            severity=payload.severity,
            criteria=payload.criteria,
            outcome=payload.outcome,
            description=payload.description[:_TEXT],
        )
        return 201, _out(aefi)

    return _staff_write(request, work)


@router.get(
    "/aefi",
    response={200: AefiListOut, **ERRORS},
    auth=staff,
    summary="Adverse events in the administrator's region, open and serious first",
)
def aefi_list(request: HttpRequest, query: Query[AefiQuery]) -> HttpResponse:
    """The events of the administrator's region, 50 a page, filtered by status and severity."""
    scope = services.aefis_in_scope(_user(request), AEFI_FOLLOWERS)
    events = scope
    if query.status:
        if query.status not in Aefi.Status.values:
            raise DomainError(
                "status_unknown", _("The status is open or closed."), field="status", status=422
            )
        events = events.filter(status=query.status)
    if query.severity:
        if query.severity not in Aefi.Severity.values:
            raise DomainError(
                "severity_unknown",
                _("The severity is minor, severe or serious."),
                field="severity",
                status=422,
            )
        events = events.filter(severity=query.severity)
    events = services.open_first(events).select_related(
        "beneficiary", "facility", "vaccination__vaccine"
    )
    page = Paginator(events, PER_PAGE).get_page(query.page)
    data = {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
        "open": services.open_counts(scope),
        "events": [_out(aefi) for aefi in page],
    }
    return json_response(200, data)


@router.get(
    "/aefi/{public_id}",
    response={200: AefiOut, **ERRORS},
    auth=staff,
    summary="One adverse event",
)
def aefi_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """An event reported at a facility in the staff member's scope."""
    return json_response(200, _out(aefi_for_staff(_user(request), public_id, AEFI_REPORTERS)))


@router.post(
    "/aefi/{public_id}/follow-up",
    response={200: AefiOut, **ERRORS},
    auth=staff,
    summary="Record the follow-up of an adverse event (administrators)",
)
def aefi_follow_up(request: HttpRequest, public_id: str, payload: FollowUpIn) -> HttpResponse:
    """Record what the follow-up found and the outcome now; close the event if asked."""

    def work(user: User) -> Answer:
        aefi = aefi_for_staff(user, public_id, AEFI_FOLLOWERS)
        done = services.aefi_follow_up(
            by=user,
            aefi=aefi,
            note=payload.note[:_TEXT],
            outcome=payload.outcome,
            close=payload.close,
        )
        return 200, _out(done)

    return _staff_write(request, work)


@router.post(
    "/aefi/{public_id}/close",
    response={200: AefiOut, **ERRORS},
    auth=staff,
    summary="Close an adverse event",
)
def aefi_close(request: HttpRequest, public_id: str, payload: CloseIn) -> HttpResponse:
    """Close a minor event (its facility's manager) or a followed-up one (administrators)."""

    def work(user: User) -> Answer:
        aefi = aefi_for_staff(user, public_id, AEFI_REPORTERS)
        return 200, _out(services.aefi_close(by=user, aefi=aefi, note=payload.note[:_TEXT]))

    return _staff_write(request, work)


@router.post(
    "/beneficiaries/{reference}/aefi",
    response={201: AefiOut, **ERRORS},
    auth=bearer,
    summary="Report a reaction after a dose of a member of the account",
    tags=["Beneficiaries"],
)
def aefi_report_citizen(
    request: HttpRequest, reference: str, payload: CitizenAefiIn
) -> HttpResponse:
    """Report an adverse event after one of the member's recorded doses."""
    account: Account = request.auth  # type: ignore[attr-defined]
    check_rate(f"api:v1:aefi:account:{account.pk}", REPORTS_PER_ACCOUNT[0], REPORTS_PER_ACCOUNT[1])

    def work() -> Answer:
        person = beneficiary_for_account(account, reference)
        aefi = services.aefi_report_by_citizen(
            account=account,
            beneficiary=person,
            vaccination=services.dose_of(person, payload.vaccination),
            onset_at=payload.onset_at,
            symptoms=payload.symptoms,
            severity=payload.severity,
            criteria=payload.criteria,
            outcome=payload.outcome,
            description=payload.description[:_TEXT],
            reporter_name=payload.reporter_name,
        )
        return 201, _out(aefi)

    return idempotent(request, scope=f"account:{account.pk}", work=work)
