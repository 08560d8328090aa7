"""Staff pages for records: a person's doses, marking one entered in error, correcting it, merges.

Facility managers correct the records of their facility, administrators those of their
region (roles.CORRECTORS); district administrators and above merge duplicates
(roles.MERGERS). Everything is reached through core.access: out of scope answers 404.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from vaxnet.booking.staff_views import staff_required
from vaxnet.core.access import beneficiary_for_staff, vaccination_for_staff
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.core.pages import go, is_htmx, refusal, staff_user
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import SessionStock
from vaxnet.vaccination import corrections, merges
from vaxnet.vaccination.models import BeneficiaryMerge, Site, Vaccination
from vaxnet.vaccination.roles import CORRECTORS, MERGERS

_REASON_LENGTH = 300


def _person(user: User, reference: str, roles: tuple[str, ...]) -> Beneficiary:
    try:
        return beneficiary_for_staff(user, reference, roles=roles)
    except NotFound:
        raise Http404 from None


def history(beneficiary: Beneficiary) -> dict[str, Any]:
    """Return a person's records, valid or not, with those of the duplicates merged into them."""
    records = (
        Vaccination.objects.filter(
            Q(beneficiary=beneficiary) | Q(beneficiary__merged_into=beneficiary)
        )
        .select_related("vaccine", "batch", "facility", "error_by", "beneficiary", "replaces")
        .order_by("given_at", "id")
    )
    merged = (
        BeneficiaryMerge.objects.filter(Q(kept=beneficiary) | Q(merged=beneficiary))
        .select_related("kept", "merged", "by", "undone_by")
        .order_by("-at", "id")
    )
    return {"person": beneficiary, "records": list(records), "merges": list(merged)}


@require_GET
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """Find a person in scope by reference number and show their dose records."""
    reference = request.GET.get("reference", "").strip()[:20]
    context: dict[str, Any] = {"reference": reference, "errors": {}, "person": None}
    if reference:
        try:
            person = beneficiary_for_staff(staff_user(request), reference, roles=CORRECTORS)
        except NotFound:
            context["errors"] = {"reference": _("No person with this reference was seen here.")}
        else:
            context |= history(person)
    template = "records/_history.html" if is_htmx(request) else "records/home.html"
    return render(request, template, context, status=404 if context["errors"] else 200)


def _given_at(raw: str, vaccination: Vaccination) -> datetime | None:
    """Return the time typed (HH:MM on the record's day, or a full date and time), or None."""
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) == 5 and raw[2] == ":":
        raw = f"{vaccination.given_on.isoformat()}T{raw}"
    parsed = parse_datetime(raw)
    if parsed is None:
        raise DomainError("given_at_invalid", _("Give the time as HH:MM."), field="given_at")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    # The form shows the minute: an unchanged minute keeps the recorded seconds.
    if parsed == timezone.localtime(vaccination.given_at).replace(second=0, microsecond=0):
        return None
    return parsed


@require_http_methods(["GET", "POST"])
@staff_required
def vaccination(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show a dose record; mark it entered in error or correct it (facility managers, admins)."""
    user = staff_user(request)
    try:
        record = vaccination_for_staff(user, public_id, roles=CORRECTORS)
    except NotFound:
        raise Http404 from None
    batches = list(
        SessionStock.objects.filter(session_id=record.session_id)
        .select_related("batch")
        .order_by("batch__lot_number")
    )
    context: dict[str, Any] = {
        "record": record,
        "sites": Site.choices,
        "batches": [account.batch for account in batches],
        "errors": {},
        "values": {},
        "action": "",
    }
    if request.method == "GET":
        return render(request, "records/vaccination.html", context)
    action = request.POST.get("action", "")
    values = {key: request.POST.get(key, "")[:_REASON_LENGTH] for key in request.POST}
    context |= {"values": values, "action": action}
    try:
        if action == "correct":
            new = _correct(user, record, values)
            messages.success(request, _("The record is corrected."))
            return go(request, reverse("records:vaccination", args=[new.public_id]))
        corrections.vaccination_mark_in_error(
            by=user, vaccination=record, reason=values.get("reason", "")
        )
    except DomainError as error:
        context["errors"] = refusal(error)
        template = (
            "records/_vaccination_forms.html" if is_htmx(request) else "records/vaccination.html"
        )
        return render(request, template, context, status=error.status)
    messages.success(request, _("The record is marked entered in error."))
    return go(request, reverse("records:vaccination", args=[record.public_id]))


def _correct(user: User, record: Vaccination, values: dict[str, str]) -> Vaccination:
    """Read the correction form and make the right record."""
    person = None
    reference = values.get("beneficiary", "").strip()
    if reference and reference != record.beneficiary.reference:
        try:
            person = beneficiary_for_staff(user, reference, roles=CORRECTORS)
        except NotFound:
            raise DomainError(
                "beneficiary_unknown",
                _("No person with this reference was seen here."),
                field="beneficiary",
            ) from None
    batch = None
    lot = values.get("batch", "").strip()
    if lot and lot != record.batch.public_id:
        account = (
            SessionStock.objects.filter(session_id=record.session_id, batch__public_id=lot)
            .select_related("batch")
            .first()
        )
        if account is None:
            raise DomainError(
                "batch_not_issued", _("This batch was not issued to this session."), field="batch"
            )
        batch = account.batch
    return corrections.vaccination_correct(
        by=user,
        vaccination=record,
        reason=values.get("reason", ""),
        beneficiary=person,
        batch=batch,
        site=values.get("site") or None,
        given_at=_given_at(values.get("given_at", ""), record),
    )


@require_http_methods(["GET", "POST"])
@staff_required
def merge(request: HttpRequest) -> HttpResponse:
    """Merge a duplicate registration into the kept one, after a side-by-side preview."""
    user = staff_user(request)
    source = request.POST if request.method == "POST" else request.GET
    kept_ref = source.get("kept", "").strip()[:20]
    merged_ref = source.get("merged", "").strip()[:20]
    context: dict[str, Any] = {
        "kept_ref": kept_ref,
        "merged_ref": merged_ref,
        "reason": source.get("reason", "")[:_REASON_LENGTH],
        "errors": {},
        "kept": None,
        "merged": None,
    }
    if kept_ref or merged_ref:
        errors = {}
        for name, ref in (("kept", kept_ref), ("merged", merged_ref)):
            try:
                context[name] = history(beneficiary_for_staff(user, ref, roles=MERGERS))
            except NotFound:
                errors[name] = _("No person with this reference was seen in your region.")
        context["errors"] = errors
        if not errors:
            context["clashes"] = merges.merge_clashes(
                context["kept"]["person"], context["merged"]["person"]
            )
    template = "records/_merge_form.html" if is_htmx(request) else "records/merge.html"
    if request.method == "GET" or context["errors"]:
        return render(request, template, context, status=404 if context["errors"] else 200)
    try:
        outcome = merges.beneficiary_merge(
            by=user,
            kept=context["kept"]["person"],
            merged=context["merged"]["person"],
            reason=context["reason"],
        )
    except DomainError as error:
        context["errors"] = refusal(error)
        return render(request, template, context, status=error.status)
    messages.success(
        request,
        _("Registration {merged} is merged into {kept}.").format(merged=merged_ref, kept=kept_ref),
    )
    if outcome.clashes:
        messages.warning(
            request,
            _(
                "Both registrations hold the same dose: one of the two records is likely to "
                "be entered in error."
            ),
        )
    return go(request, f"{reverse('records:home')}?reference={kept_ref}")


@require_http_methods(["GET", "POST"])
@staff_required
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    """Undo a merge after a confirmation with a reason."""
    user = staff_user(request)
    found = (
        BeneficiaryMerge.objects.filter(pk=merge_id, undone_at__isnull=True)
        .select_related("kept", "merged")
        .first()
    )
    if found is None:
        raise Http404
    _person(user, found.kept.reference, MERGERS)
    context: dict[str, Any] = {"merge": found, "reason": "", "errors": {}}
    if request.method == "GET":
        return render(request, "records/merge_undo.html", context)
    context["reason"] = request.POST.get("reason", "")[:_REASON_LENGTH]
    try:
        merges.beneficiary_merge_undo(by=user, merge=found, reason=context["reason"])
    except DomainError as error:
        context["errors"] = refusal(error)
        return render(request, "records/merge_undo.html", context, status=error.status)
    messages.success(request, _("The merge is undone."))
    return go(request, f"{reverse('records:home')}?reference={found.kept.reference}")
