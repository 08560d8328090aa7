"""Citizen waiting-list pages: join with preferences, see and leave entries, answer an offer."""

import math
import re
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxnet.booking.access import entry_for_account, offer_for_account
from vaxnet.booking.citizen_queries import waitlist_of
from vaxnet.booking.models import WaitlistEntry, WaitlistOffer
from vaxnet.booking.waitlist import (
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_lapse,
    waitlist_subscribe,
)
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, is_htmx, refusal, refused
from vaxnet.countries.models import Country
from vaxnet.geo.models import Region
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.auth import account_required
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccines.models import Vaccine

# How far ahead a new entry waits by default, counting tomorrow.
DEFAULT_DAYS = 7
MAX_DOSE = 9
_MAX_FIELD = 200
_FIELDS = ("member", "region", "postal_codes", "vaccine", "dose_number", "date_from", "date_to")


def _members(account: Account) -> list[Beneficiary]:
    return list(Beneficiary.objects.filter(account=account).order_by("created_at", "pk"))


@require_GET
@account_required
def waitlist(request: HttpRequest, account: Account) -> HttpResponse:
    """List the waiting-list entries of the account's members, with open offers."""
    entries = waitlist_of(account.pk)
    return render(
        request,
        "booking/waitlist.html",
        {
            "entries": entries,
            "members": _members(account),
            "now": timezone.now(),
            "waiting": WaitlistEntry.Status.WAITING,
        },
    )


# Joining


def _initial(request: HttpRequest, members: list[Beneficiary]) -> dict[str, str]:
    """Return the form's first values: tomorrow for a week, or what the finder searched for."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    asked = request.GET
    start = max(_iso_date(asked.get("date", "")[:20]) or tomorrow, tomorrow)
    member = asked.get("member", "")[:_MAX_FIELD]
    if not member and len(members) == 1:
        member = members[0].reference
    return {
        "member": member,
        "region": asked.get("region", "")[:40],
        "postal_codes": asked.get("postal_code", "")[:_MAX_FIELD],
        "vaccine": asked.get("vaccine", "")[:40],
        "dose_number": "",
        "date_from": start.isoformat(),
        "date_to": (start + timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
    }


def _iso_date(raw: str) -> date | None:
    """Return a YYYY-MM-DD date, or None for anything else (2026-02-30 included)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        return None
    try:
        return parse_date(raw.strip())
    except ValueError:
        return None


def _date(raw: str, field: str) -> date:
    day = _iso_date(raw)
    if day is None:
        raise DomainError(
            "date_invalid",
            _("Enter a date as year-month-day, such as 2026-03-02."),
            field=field,
        )
    return day


def _region(country: Country, code: str) -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(country=country, code=code).first()
    if region is None:
        raise DomainError("region_unknown", _("Choose a region from the list."), field="region")
    return region


def _vaccine(country: Country, code: str) -> Vaccine | None:
    if not code:
        return None
    vaccine = Vaccine.objects.filter(country=country, code=code, active=True).first()
    if vaccine is None:
        raise DomainError("vaccine_unknown", _("Choose a vaccine from the list."), field="vaccine")
    return vaccine


def _dose_number(raw: str) -> int | None:
    if not raw.strip():
        return None
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_DOSE:
        raise DomainError("dose_number", _("Choose a dose number."), field="dose_number")
    return int(raw)


def _subscribe(account: Account, values: dict[str, str]) -> WaitlistEntry:
    """Read the posted preferences and put the member on the waiting list, or refuse."""
    if not values["member"]:
        raise DomainError("no_beneficiary", _("Choose who is waiting."), field="member")
    try:
        member = beneficiary_for_account(account, values["member"])
    except NotFound:
        raise Http404 from None
    country = account.country
    return waitlist_subscribe(
        beneficiary=member,
        postal_codes=[code for code in re.split(r"[\s,;]+", values["postal_codes"]) if code],
        region=_region(country, values["region"]),
        vaccine=_vaccine(country, values["vaccine"]),
        dose_number=_dose_number(values["dose_number"]),
        date_from=_date(values["date_from"], "date_from"),
        date_to=_date(values["date_to"], "date_to"),
    )


@require_http_methods(["GET", "POST"])
@account_required
def waitlist_join(request: HttpRequest, account: Account) -> HttpResponse:
    """Put a member on the waiting list for places that match their preferences."""
    members = _members(account)
    template = "booking/waitlist_form.html" if is_htmx(request) else "booking/waitlist_join.html"
    context: dict[str, Any] = {
        "members": members,
        "vaccines": account.country.vaccines.filter(active=True).order_by("code"),
        "today": timezone.localdate(),
        "errors": {},
    }
    if request.method == "GET":
        return render(request, template, {**context, "values": _initial(request, members)})
    values = {key: request.POST.get(key, "")[:_MAX_FIELD].strip() for key in _FIELDS}
    context["values"] = values
    try:
        entry = _subscribe(account, values)
    except DomainError as error:
        context["errors"] = refusal(error, "member")
        return refused(request, template, context, error)
    messages.success(
        request,
        _("{name} is on the waiting list. We send an SMS when a place is free.").format(
            name=entry.beneficiary.name
        ),
    )
    return go(request, reverse("booking:waitlist"))


@require_http_methods(["GET", "POST"])
@account_required
def waitlist_leave_view(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Take a member off the waiting list, after a confirmation."""
    try:
        entry = entry_for_account(account, public_id)
    except NotFound:
        raise Http404 from None
    context: dict[str, Any] = {"entry": entry, "errors": {}}
    if request.method == "GET":
        return render(request, "booking/waitlist_leave.html", context)
    try:
        waitlist_leave(entry=entry)
    except DomainError as error:
        context["errors"] = refusal(error)
        return refused(request, "booking/waitlist_leave.html", context, error)
    messages.success(
        request,
        _("{name} has left the waiting list.").format(name=entry.beneficiary.name),
    )
    return redirect("booking:waitlist")


# Offers


def _offer_or_404(account: Account, public_id: str) -> WaitlistOffer:
    try:
        return offer_for_account(account, public_id)
    except NotFound:
        raise Http404 from None


def _offer_context(offer: WaitlistOffer) -> dict[str, Any]:
    now = timezone.now()
    seconds = max(0.0, (offer.expires_at - now).total_seconds())
    if offer.status == WaitlistOffer.Status.ACCEPTED:
        state = "accepted"
    elif offer.status == WaitlistOffer.Status.OPEN and not offer.is_expired(now):
        state = "open"
    else:
        state = "ended"
    return {
        "offer": offer,
        "state": state,
        "minutes_left": math.ceil(seconds / 60),
        "errors": {},
    }


@require_GET
@account_required
def offer(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Show a place offered from the waiting list, the time left, and Accept / Decline."""
    return render(request, "booking/offer.html", _offer_context(_offer_or_404(account, public_id)))


@require_POST
@account_required
def offer_accept(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Book the offered place for the member it is held for."""
    found = _offer_or_404(account, public_id)
    try:
        appointment = waitlist_offer_accept(offer=found)
    except DomainError as error:
        found.refresh_from_db()
        context = {**_offer_context(found), "errors": refusal(error)}
        return refused(request, "booking/offer.html", context, error)
    messages.success(
        request,
        _(
            "{name} is booked at {centre} on {day}, {slot}. Security code: {code}. "
            "We have also sent it by SMS."
        ).format(
            name=appointment.beneficiary.name,
            centre=found.session.facility.name,
            day=date_format(found.session.date, "DATE_FORMAT"),
            slot=found.slot,
            code=appointment.security_code,
        ),
    )
    return redirect("people:account")


@require_POST
@account_required
def offer_decline(request: HttpRequest, account: Account, public_id: str) -> HttpResponse:
    """Give the offered place up: it goes to the next person waiting."""
    found = _offer_or_404(account, public_id)
    if not waitlist_offer_lapse(offer=found, declined=True):
        found.refresh_from_db()
        error = DomainError(
            "offer_closed", _("This offer has expired or has already been answered.")
        )
        context = {**_offer_context(found), "errors": refusal(error)}
        return refused(request, "booking/offer.html", context, error)
    messages.success(
        request,
        _("You declined the place. It goes to the next person waiting."),
    )
    return redirect("people:account")
