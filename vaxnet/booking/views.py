"""Citizen booking pages: find a session, book it for family members, cancel or move a booking."""

from datetime import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from vaxnet.booking import citizen_queries, services
from vaxnet.booking.access import appointment_for_account
from vaxnet.booking.draw import draw_enter
from vaxnet.booking.models import Appointment, Session, Slot
from vaxnet.booking.slip import appointment_slip_pdf
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, is_htmx, refusal, refused
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.auth import account_required, current_account
from vaxnet.people.models import Account, Beneficiary

# Members booked together in one request, at most (an account holds only a few).
_MAX_MEMBERS = 10


def _country() -> Country:
    country = active_country()
    if country is None:
        raise Http404
    return country


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _appointment_or_404(account: Account, public_id: str) -> Appointment:
    try:
        return appointment_for_account(account, public_id)
    except NotFound:
        raise Http404 from None


def _session_or_404(country: Country, public_id: str) -> Session:
    session = citizen_queries.session_for_booking(country, public_id)
    if session is None:
        raise Http404
    return session


def slot_key(slot: Slot) -> str:
    """Return how a slot is named in links and forms: its start time, never a database id."""
    return f"{slot.starts_at:%H%M}"


def _slot(session: Session, raw: str) -> Slot | None:
    raw = raw.strip()
    if len(raw) != 4 or not raw.isdigit() or int(raw[:2]) > 23 or int(raw[2:]) > 59:
        return None
    starts_at = time(int(raw[:2]), int(raw[2:]))
    return next((slot for slot in session.slots.all() if slot.starts_at == starts_at), None)


def _finder(
    request: HttpRequest, country: Country, defaults: dict[str, str], extra: dict[str, Any]
) -> HttpResponse:
    """Render the session finder for the query string, over some default choices."""
    query: dict[str, str] = {**defaults}
    query.update((key, str(value)) for key, value in request.GET.items() if key != "page")
    account = current_account(request)
    result = citizen_queries.find_sessions(
        country=country,
        today=timezone.localdate(),
        region_code=query.get("region", "")[:40],
        postal_code=query.get("postal_code", "")[:12],
        day=query.get("date", "")[:20],
        vaccine_code=query.get("vaccine", "")[:40],
        fee=query.get("fee", "")[:10],
        age=query.get("age", "")[:10],
        dose=query.get("dose", "")[:10],
        lat=query.get("lat", "")[:20],
        long=(query.get("long") or query.get("lng", ""))[:20],
        radius=query.get("radius", "")[:10],
        # Moving an appointment is for its own member: the finder judges nobody else.
        account=None if "appointment" in extra else account,
        for_member=query.get("for", "")[:20],
        page=_page_number(request.GET.get("page")),
    )
    context = {
        "result": result,
        "vaccines": country.vaccines.filter(active=True).order_by("code"),
        "doses": citizen_queries.dose_numbers(country),
        "radius_default": citizen_queries.RADIUS_KM,
        "radius_most": citizen_queries.MAX_RADIUS_KM,
        "age_most": citizen_queries.MAX_AGE,
        "today": timezone.localdate(),
        "now": timezone.now(),
        "page_query": urlencode({k: v for k, v in query.items() if v}),
        "signed_in": account is not None,
        **extra,
    }
    template = "booking/_results.html" if is_htmx(request) else "booking/find.html"
    return render(request, template, context, status=400 if result.errors else 200)


@require_GET
def find(request: HttpRequest) -> HttpResponse:
    """Find centres with sessions in a district, postal code or near a point, for a week."""
    return _finder(request, _country(), {}, {})


def _slots_context(session: Session, chosen: Slot | None) -> dict[str, Any]:
    return {
        "session": session,
        "chosen_slot": slot_key(chosen) if chosen else "",
        "opens_later": session.release_at > timezone.now(),
        # In the first minutes after release a request is an entry in the fair draw.
        "in_draw": services.booking_mode(session, timezone.now()) == "draw",
        "errors": {},
    }


@require_http_methods(["GET", "POST"])
@account_required
def book(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Choose members and a time slot of a session, and book it for them."""
    session = _session_or_404(_country(), public_id)
    members = list(Beneficiary.objects.filter(account=account).order_by("created_at", "pk"))
    template = "booking/_book_form.html" if is_htmx(request) else "booking/book.html"
    if request.method == "GET":
        context = _slots_context(session, _slot(session, request.GET.get("slot", "")))
        # A lone member is ticked already; of several, the citizen chooses.
        chosen = [members[0].reference] if len(members) == 1 else []
        return render(request, template, {**context, "members": members, "chosen": chosen})
    references = request.POST.getlist("members")[:_MAX_MEMBERS]
    slot = _slot(session, request.POST.get("slot", ""))
    context = {**_slots_context(session, slot), "members": members, "chosen": references}
    try:
        beneficiaries = [beneficiary_for_account(account, ref) for ref in references]
    except NotFound:
        raise Http404 from None
    try:
        if slot is None:
            raise DomainError("slot_required", _("Choose a time slot."), field="slot")
        if context["in_draw"]:
            entries = draw_enter(
                beneficiaries=beneficiaries,
                session=session,
                slot=slot,
                join_waitlist=request.POST.get("waitlist") == "on",
            )
            return render(
                request,
                "booking/entered.html",
                {"entries": entries, "session": session, "slot": slot},
            )
        booked = services.appointment_book(beneficiaries=beneficiaries, session=session, slot=slot)
    except DomainError as error:
        context["errors"] = refusal(error)
        return refused(request, template, context, error)
    ids = urlencode([("a", appointment.public_id) for appointment in booked])
    return go(request, f"{reverse('booking:booked')}?{ids}")


@require_GET
@account_required
def booked(request: HttpRequest, account: Account) -> HttpResponse:
    """Show booked appointments with their security codes."""
    ids = request.GET.getlist("a")[:_MAX_MEMBERS]
    if not ids:
        raise Http404
    appointments = [_appointment_or_404(account, public_id) for public_id in ids]
    return render(
        request,
        "booking/booked.html",
        {"appointments": appointments, "moved": request.GET.get("moved") == "1"},
    )


@require_GET
@account_required
def slip(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Download the appointment slip (PDF) with the security code and a QR code."""
    appointment = _appointment_or_404(account, public_id)
    response = HttpResponse(appointment_slip_pdf(appointment), content_type="application/pdf")
    filename = f"vaxnet-appointment-{appointment.public_id}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@account_required
def cancel(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Cancel an appointment, after a confirmation."""
    appointment = _appointment_or_404(account, public_id)
    context: dict[str, Any] = {"appointment": appointment, "errors": {}}
    if request.method == "GET":
        return render(request, "booking/cancel.html", context)
    try:
        services.appointment_cancel(appointment=appointment)
    except DomainError as error:
        context["errors"] = refusal(error)
        return refused(request, "booking/cancel.html", context, error)
    messages.success(
        request,
        _("The appointment of {name} is cancelled.").format(name=appointment.beneficiary.name),
    )
    return redirect("people:account")


@require_GET
@account_required
def reschedule(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Find another session for an appointment: the finder, starting near the booked one."""
    appointment = _appointment_or_404(account, public_id)
    session = appointment.session
    defaults = {"region": session.facility.region.code, "vaccine": session.vaccine.code}
    return _finder(request, _country(), defaults, {"appointment": appointment})


@require_http_methods(["GET", "POST"])
@account_required
def reschedule_to(
    request: HttpRequest, account: Account, public_id: str, session_id: str
) -> HttpResponse:
    """Move an appointment to a time slot of another (or the same) session."""
    appointment = _appointment_or_404(account, public_id)
    session = _session_or_404(_country(), session_id)
    template = "booking/_book_form.html" if is_htmx(request) else "booking/book.html"
    raw = request.POST.get("slot", "") if request.method == "POST" else request.GET.get("slot", "")
    slot = _slot(session, raw)
    context = {**_slots_context(session, slot), "appointment": appointment}
    if request.method == "GET":
        return render(request, template, context)
    try:
        if slot is None:
            raise DomainError("slot_required", _("Choose a time slot."), field="slot")
        moved = services.appointment_reschedule(appointment=appointment, session=session, slot=slot)
    except DomainError as error:
        context["errors"] = refusal(error)
        return refused(request, template, context, error)
    return go(request, f"{reverse('booking:booked')}?{urlencode({'a': moved.public_id})}&moved=1")
