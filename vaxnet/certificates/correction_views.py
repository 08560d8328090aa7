"""Pages for corrections of personal details: citizens ask and follow, administrators decide.

Citizens reach their members through people.access; administrators reach a request through
core.access.correction_for_staff (out of scope answers 404). The rules are in
vaxnet.certificates.corrections.
"""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxnet.booking.staff_views import staff_required
from vaxnet.certificates import corrections
from vaxnet.certificates.models import CorrectionRequest
from vaxnet.core.access import correction_for_staff
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, is_htmx, refusal, refused, staff_user
from vaxnet.countries.models import IdDocumentType
from vaxnet.people import auth
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import Account, Beneficiary, Sex

_MAX_FIELD = 600
# The fields of registration a refusal may name: on these pages they are the one "value".
_VALUE_FIELDS = {"name", "sex", "birth_year", "birth_date", "id_number"}


def _errors(error: DomainError) -> dict[str, str]:
    found = refusal(error, "__all__")
    return {("value" if key in _VALUE_FIELDS else key): text for key, text in found.items()}


# --- Citizens -------------------------------------------------------------------------------


def _member(account: Account, reference: str) -> Beneficiary:
    try:
        return beneficiary_for_account(account, reference)
    except NotFound:
        raise Http404 from None


@require_GET
@auth.account_required
def citizen_home(request: HttpRequest, account: Account) -> HttpResponse:
    """List the account's members, with a link to correct each detail, and their requests."""
    members = list(
        Beneficiary.objects.filter(account=account, merged_into__isnull=True)
        .select_related("id_type")
        .order_by("created_at", "pk")
    )
    context = {
        "members": members,
        "requests": corrections.corrections_of(account),
        "fields": CorrectionRequest.Field.choices,
        "sexes": Sex.choices,
    }
    return render(request, "certificates/corrections_citizen.html", context)


@require_http_methods(["GET", "POST"])
@auth.account_required
def citizen_new(request: HttpRequest, account: Account, reference: str, field: str) -> HttpResponse:
    """Ask for a correction of one detail of a member, with the reason."""
    member = _member(account, reference)
    if field not in CorrectionRequest.Field.values:
        raise Http404
    context: dict[str, Any] = {
        "member": member,
        "field": field,
        "field_label": CorrectionRequest.Field(field).label,
        "sexes": Sex.choices,
        "id_types": IdDocumentType.objects.filter(country=account.country).order_by("position"),
        "values": {"id_type": member.id_type.code},
        "errors": {},
    }
    if request.method == "GET":
        return render(request, "certificates/correction_form.html", context)
    # The ID number is never put back into the page: it is typed again after a refusal.
    values = {key: request.POST.get(key, "")[:_MAX_FIELD] for key in ("value", "id_type", "reason")}
    try:
        corrections.correction_request(
            account=account,
            beneficiary=member,
            field=field,
            value=values["value"],
            reason=values["reason"],
            id_type=values["id_type"] or None,
        )
    except DomainError as error:
        if field == CorrectionRequest.Field.ID_DOCUMENT:
            values["value"] = ""
        context |= {"values": values, "errors": _errors(error)}
        return refused(request, "certificates/correction_form.html", context, error)
    messages.success(
        request,
        _("Your request is sent. You will get an SMS when it has been decided."),
    )
    return go(request, reverse("citizen_corrections:home"))


@require_POST
@auth.account_required
def citizen_withdraw(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Withdraw a request still waiting for a decision."""
    found = (
        CorrectionRequest.objects.filter(
            public_id=str(public_id)[:16], beneficiary__account=account
        )
        .select_related("beneficiary")
        .first()
    )
    if found is None or not account.active:
        raise Http404
    try:
        corrections.correction_withdraw(account=account, request=found)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The request is withdrawn."))
    return go(request, reverse("citizen_corrections:home"))


def _shown(field: str, value: str) -> str:
    """Return a value as people read it: the sex by its translated label."""
    if field == CorrectionRequest.Field.SEX and value in Sex.values:
        return str(Sex(value).label)
    return value


# --- Administrators ---------------------------------------------------------------------------


@require_GET
@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    """List the requests in the administrator's scope: waiting ones by default, oldest first."""
    status = request.GET.get("status", CorrectionRequest.Status.PENDING)
    if status not in CorrectionRequest.Status.values:
        status = CorrectionRequest.Status.PENDING
    context = {
        "requests": corrections.corrections_for_staff(staff_user(request), status),
        "status": status,
        "statuses": CorrectionRequest.Status.choices,
    }
    template = (
        "certificates/_correction_queue.html"
        if is_htmx(request)
        else ("certificates/correction_queue.html")
    )
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@staff_required
def detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show a request, the current and asked-for value and the reason; approve or reject it."""
    user = staff_user(request)
    try:
        found = correction_for_staff(user, public_id)
    except NotFound:
        raise Http404 from None
    document = IdDocumentType.objects.filter(
        country_id=found.beneficiary.country_id, code=found.requested_id_type
    ).first()
    context: dict[str, Any] = {
        "correction": found,
        "requested_document": document.name if document else found.requested_id_type,
        "current_shown": _shown(found.field, found.current_value),
        "requested_shown": _shown(found.field, found.requested_value),
        "note": "",
        "errors": {},
    }
    if request.method == "GET":
        return render(request, "certificates/correction_detail.html", context)
    action = request.POST.get("action", "")
    context["note"] = request.POST.get("note", "")[:_MAX_FIELD]
    try:
        if action not in ("approve", "reject"):
            raise DomainError("decision_required", _("Choose to approve or to reject."), status=422)
        corrections.correction_decide(
            by=user, request=found, approve=action == "approve", note=context["note"]
        )
    except DomainError as error:
        context["errors"] = refusal(error)
        template = (
            "certificates/_correction_decision.html"
            if is_htmx(request)
            else "certificates/correction_detail.html"
        )
        return render(request, template, context, status=error.status)
    if action == "approve":
        messages.success(request, _("The correction is approved and the certificate re-issued."))
    else:
        messages.success(request, _("The request is rejected."))
    return go(request, reverse("corrections:queue"))
