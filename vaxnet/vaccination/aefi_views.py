"""Adverse event pages: report (staff and citizens), the open list, an event and its follow-up.

Staff reach an event through core.access (aefi_for_staff) and a person or a dose through
beneficiary_for_staff / vaccination_for_staff; citizens reach their family members through
people.access. Out of scope and missing both answer 404.
"""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxnet.booking.staff_views import staff_required
from vaxnet.core.access import (
    aefi_for_staff,
    beneficiary_for_staff,
    facilities_in_scope,
    vaccination_for_staff,
)
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.core.pages import go, is_htmx, refusal, staff_user
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.auth import account_required
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccination import aefi as services
from vaxnet.vaccination import aefi_forms as forms
from vaxnet.vaccination.aefi import Criterion, Symptom
from vaxnet.vaccination.models import Aefi, Vaccination
from vaxnet.vaccination.roles import AEFI_FOLLOWERS, AEFI_REPORTERS

PER_PAGE = 50
_STATUSES = ("open", "closed", "all")


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _choices() -> dict[str, Any]:
    return {
        "symptom_choices": Symptom.choices,
        "severity_choices": Aefi.Severity.choices,
        "criterion_choices": Criterion.choices,
        "outcome_choices": Aefi.Outcome.choices,
    }


# The list and one event


@require_GET
@staff_required
def staff_list(request: HttpRequest) -> HttpResponse:
    """List the adverse events in the user's scope: open ones first, serious ones first."""
    user = staff_user(request)
    scope = services.aefis_in_scope(user, AEFI_REPORTERS)
    status = request.GET.get("status", "open")
    status = status if status in _STATUSES else "open"
    severity = request.GET.get("severity", "")
    severity = severity if severity in Aefi.Severity.values else ""
    events = scope
    if status != "all":
        events = events.filter(status=status)
    if severity:
        events = events.filter(severity=severity)
    events = services.open_first(events).select_related(
        "beneficiary", "facility", "vaccination__vaccine"
    )
    page = Paginator(events, PER_PAGE).get_page(_page_number(request.GET.get("page")))
    query = {key: value for key, value in (("status", status), ("severity", severity)) if value}
    context = {
        "page": page,
        "status": status,
        "severity": severity,
        "counts": services.open_counts(scope),
        "severity_choices": Aefi.Severity.choices,
        "page_query": urlencode(query),
        "follower": facilities_in_scope(user, AEFI_FOLLOWERS) is not None,
    }
    template = "aefi/_list.html" if is_htmx(request) else "aefi/list.html"
    return render(request, template, context)


def _event_or_404(user: User, public_id: str, roles: Any = AEFI_REPORTERS) -> Aefi:
    try:
        return aefi_for_staff(user, public_id, roles=roles)
    except NotFound:
        raise Http404 from None


def _detail_context(user: User, aefi: Aefi, **extra: Any) -> dict[str, Any]:
    follower = aefi.is_open() and services.may_follow_up(user, aefi)
    return {
        "aefi": aefi,
        "symptoms": [Symptom(value).label for value in aefi.symptoms if value in Symptom.values],
        "criteria": [
            Criterion(value).label for value in aefi.criteria if value in Criterion.values
        ],
        "can_follow_up": follower,
        "can_close": aefi.is_open() and (follower or services.may_close(user, aefi)),
        "follow_up": extra.pop("follow_up", None) or forms.initial_follow_up(aefi),
        "close_errors": extra.pop("close_errors", {}),
        "outcome_choices": Aefi.Outcome.choices,
        **extra,
    }


@require_GET
@staff_required
def detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show an adverse event, with the follow-up and close forms for those who may use them."""
    user = staff_user(request)
    aefi = _event_or_404(user, public_id)
    return render(request, "aefi/detail.html", _detail_context(user, aefi))


@require_POST
@staff_required
def follow_up(request: HttpRequest, public_id: str) -> HttpResponse:
    """Record an administrator's follow-up, closing the event if asked."""
    user = staff_user(request)
    aefi = _event_or_404(user, public_id, AEFI_FOLLOWERS)
    form = forms.read_follow_up(request.POST)
    try:
        services.aefi_follow_up(
            by=user, aefi=aefi, note=form.note, outcome=form.outcome, close=form.close
        )
    except DomainError as error:
        form.errors = refusal(error)
        context = _detail_context(user, aefi, follow_up=form)
        template = "aefi/_follow_up_form.html" if is_htmx(request) else "aefi/detail.html"
        return render(request, template, context, status=error.status)
    if form.close:
        messages.success(request, _("The follow-up is recorded and the event is closed."))
    else:
        messages.success(request, _("The follow-up is recorded; the event stays open."))
    return go(request, reverse("aefi:detail", args=[aefi.public_id]))


@require_POST
@staff_required
def close(request: HttpRequest, public_id: str) -> HttpResponse:
    """Close an event: a minor one by its facility's manager, any one by its administrators."""
    user = staff_user(request)
    aefi = _event_or_404(user, public_id)
    note = request.POST.get("note", "")[: services.NOTE_LENGTH]
    try:
        services.aefi_close(by=user, aefi=aefi, note=note)
    except DomainError as error:
        if error.status == 404:
            raise Http404 from None
        # The close form's note has its own id: the follow-up form's may be on the page too.
        errors = {"close_note" if key == "note" else key: v for key, v in refusal(error).items()}
        context = _detail_context(user, aefi, close_errors=errors, close_note=note)
        template = "aefi/_close_form.html" if is_htmx(request) else "aefi/detail.html"
        return render(request, template, context, status=error.status)
    messages.success(request, _("The event is closed."))
    return go(request, reverse("aefi:detail", args=[aefi.public_id]))


# Reporting, by staff


def _staff_doses(
    user: User, vaccination_id: str, reference: str
) -> tuple[Beneficiary | None, list[Vaccination]]:
    """Return the person and the doses a staff member may report against, or 404."""
    try:
        if reference:
            person = beneficiary_for_staff(user, reference, roles=AEFI_REPORTERS)
            return person, services.reportable_doses(person)
        if vaccination_id:
            dose = vaccination_for_staff(user, vaccination_id, roles=AEFI_REPORTERS)
            if not dose.is_valid():
                raise Http404
            return dose.beneficiary, [dose]
    except NotFound:
        raise Http404 from None
    return None, []


@require_http_methods(["GET", "POST"])
@staff_required
def staff_report(request: HttpRequest) -> HttpResponse:
    """Report an adverse event after a dose given in the user's scope, or to a person they see."""
    user = staff_user(request)
    data = request.POST if request.method == "POST" else request.GET
    reference = data.get("person", "").strip()[:16]
    vaccination_id = data.get("record", "").strip()[:16]
    person, doses = _staff_doses(user, vaccination_id, reference)
    form = forms.blank_report(timezone.now())
    if len(doses) == 1:
        form.values["vaccination"] = doses[0].public_id
    context: dict[str, Any] = {
        "person": person,
        "doses": doses,
        "reference": reference,
        "record": vaccination_id,
        "form": form,
        "values": form.values,
        "errors": form.errors,
        **_choices(),
    }
    if request.method == "GET" or person is None:
        return render(request, "aefi/staff_report.html", context)
    form = forms.read_report(request.POST)
    context |= {"form": form, "values": form.values, "errors": form.errors}
    if form.errors:
        return render(request, "aefi/staff_report.html", context, status=400)
    try:
        dose = next((d for d in doses if d.public_id == form.values["vaccination"]), None)
        if dose is None:
            raise DomainError(
                "vaccination_unknown", _("Choose the dose the event followed."), field="vaccination"
            )
        aefi = services.aefi_report_by_staff(by=user, vaccination=dose, **form.report)
    except DomainError as error:
        form.errors = refusal(error)
        context["errors"] = form.errors
        return render(request, "aefi/staff_report.html", context, status=error.status)
    messages.success(
        request, _("The event is reported as {reference}.").format(reference=aefi.public_id)
    )
    try:
        aefi_for_staff(user, aefi.public_id, roles=AEFI_REPORTERS)
    except NotFound:
        # A dose given elsewhere: the event belongs to that facility's district.
        return go(request, reverse("aefi:staff_list"))
    return go(request, reverse("aefi:detail", args=[aefi.public_id]))


# Reporting, by citizens


@require_http_methods(["GET", "POST"])
@account_required
def citizen_report(request: HttpRequest, account: Account, reference: str) -> HttpResponse:
    """Report an adverse event after a dose of a family member registered on the account."""
    try:
        person = beneficiary_for_account(account, reference)
    except NotFound:
        raise Http404 from None
    doses = services.reportable_doses(person)
    form = forms.blank_report(timezone.now())
    if len(doses) == 1:
        form.values["vaccination"] = doses[0].public_id
    if request.method == "POST":
        form = forms.read_report(request.POST, citizen=True)
    context: dict[str, Any] = {
        "person": person,
        "doses": doses,
        "form": form,
        "values": form.values,
        "errors": form.errors,
        **_choices(),
    }
    if request.method == "GET" or not doses:
        return render(request, "aefi/citizen_report.html", context)
    if form.errors:
        return render(request, "aefi/citizen_report.html", context, status=400)
    try:
        dose = services.dose_of(person, form.values["vaccination"])
        services.aefi_report_by_citizen(
            account=account, beneficiary=person, vaccination=dose, **form.report
        )
    except DomainError as error:
        form.errors = refusal(error)
        context["errors"] = form.errors
        return render(request, "aefi/citizen_report.html", context, status=error.status)
    messages.success(
        request,
        _("Thank you: the health team is told, and will contact you if it needs to."),
    )
    return go(request, reverse("people:account"))
