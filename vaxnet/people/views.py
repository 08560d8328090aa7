"""Citizen pages: sign in with a mobile OTP, and the family members an account registers."""

import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from vaxnet.booking.citizen_queries import (
    draw_entries_of,
    members_with_appointments,
    waitlist_of,
)
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.middleware import client_address
from vaxnet.core.pages import refusal, refused
from vaxnet.countries.models import Country, IdDocumentType
from vaxnet.countries.queries import active_country
from vaxnet.people import auth, services
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import OTP_VALID_FOR, Account, Beneficiary, Sex, mask_phone

# The sign-in in progress: the challenge's transaction id, the number, when the code was sent.
OTP_STATE = "vaxnet_otp"
_MAX_FIELD = 200


def _country() -> Country:
    country = active_country()
    if country is None:
        raise Http404
    return country


def _next(request: HttpRequest) -> str:
    raw = request.POST.get("next") or request.GET.get("next")
    return auth.safe_next(request, raw, reverse("people:account"))


# --- Sign-in ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Ask for a mobile number and send a sign-in code to it."""
    country = _country()
    next_url = _next(request)
    if request.method == "GET" and auth.current_account(request) is not None:
        return redirect(next_url)
    context: dict[str, Any] = {"next": next_url, "phone": "", "errors": {}}
    if request.method == "POST":
        context["phone"] = request.POST.get("phone", "")[:_MAX_FIELD]
        try:
            challenge = services.otp_request(
                country=country,
                phone=context["phone"],
                client=client_address(request),
                language=translation.get_language() or country.languages[0],
            )
        except DomainError as error:
            context["errors"] = refusal(error, "phone")
            return refused(request, "people/sign_in.html", context, error)
        request.session[OTP_STATE] = {
            "txn": challenge.public_id,
            "phone": challenge.phone,
            "sent_at": int(time.time()),
        }
        return redirect(f"{reverse('people:sign_in_code')}?{urlencode({'next': next_url})}")
    return render(request, "people/sign_in.html", context)


def _code_context(request: HttpRequest, state: dict[str, Any]) -> dict[str, Any]:
    waited = int(time.time()) - int(state.get("sent_at", 0))
    return {
        "next": _next(request),
        "masked_phone": mask_phone(state["phone"]),
        "valid_minutes": int(OTP_VALID_FOR.total_seconds() // 60),
        "resend_wait": max(0, services.OTP_COOLDOWN_SECONDS - waited),
        "errors": {},
    }


@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """Take the 6-digit code sent by SMS and sign in with it."""
    state = request.session.get(OTP_STATE)
    if not isinstance(state, dict):
        return redirect(auth.sign_in_url(_next(request)))
    context = _code_context(request, state)
    if request.method == "POST":
        try:
            account = services.otp_verify(
                txn=state["txn"],
                code=request.POST.get("code", "")[:_MAX_FIELD],
                client=client_address(request),
            )
        except DomainError as error:
            context["errors"] = refusal(error, "code")
            return refused(request, "people/sign_in_code.html", context, error)
        auth.sign_in(request, account)
        request.session.pop(OTP_STATE, None)
        return redirect(context["next"])
    return render(request, "people/sign_in_code.html", context)


@require_POST
def sign_in_resend(request: HttpRequest) -> HttpResponse:
    """Send a new code to the number of the sign-in in progress, within the cool-down."""
    country = _country()
    state = request.session.get(OTP_STATE)
    if not isinstance(state, dict):
        return redirect(auth.sign_in_url(_next(request)))
    try:
        challenge = services.otp_request(
            country=country,
            phone=state["phone"],
            client=client_address(request),
            language=translation.get_language() or country.languages[0],
        )
    except DomainError as error:
        context = _code_context(request, state)
        context["errors"] = refusal(error, "resend")
        retry_after = getattr(error, "retry_after", None)
        if retry_after and retry_after <= services.OTP_COOLDOWN_SECONDS:
            context["resend_wait"] = retry_after  # the service's own count beats ours
        return refused(request, "people/sign_in_code.html", context, error)
    request.session[OTP_STATE] = {
        "txn": challenge.public_id,
        "phone": challenge.phone,
        "sent_at": int(time.time()),
    }
    messages.success(request, _("A new code is on its way. The earlier code no longer works."))
    return redirect(f"{reverse('people:sign_in_code')}?{urlencode({'next': _next(request)})}")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out and forget the session."""
    auth.sign_out(request)
    messages.success(request, _("You have signed out."))
    return redirect("people:sign_in")


# --- The account and its members ------------------------------------------------------------


def _member_limit(account: Account) -> int:
    return int(account.country.setting("booking", "beneficiaries_per_account", 4))


@require_http_methods(["GET"])
@auth.account_required
def account_home(request: HttpRequest, account: Account) -> HttpResponse:
    """List the account's members and their appointments."""
    members = members_with_appointments(account)
    return render(
        request,
        "people/account.html",
        {
            "account": account,
            "members": members,
            "limit": _member_limit(account),
            "at_limit": len(members) >= _member_limit(account),
            "waitlist_entries": waitlist_of(account.pk, active_only=True),
            "draw_entries": draw_entries_of(account.pk, limit=20),
        },
    )


def _year(raw: str) -> int:
    # A year that is not a number gets the service's own out-of-range message.
    try:
        return int(raw.strip())
    except ValueError:
        return 0


def _member_form(
    request: HttpRequest, account: Account, values: dict[str, str], **extra: Any
) -> dict[str, Any]:
    return {
        "next": _next(request),
        "account": account,
        "values": values,
        "sexes": Sex.choices,
        "id_types": IdDocumentType.objects.filter(country=account.country).order_by("position"),
        "errors": {},
        **extra,
    }


def _posted(request: HttpRequest) -> dict[str, str]:
    keys = ("name", "sex", "birth_year", "id_type", "id_number")
    return {key: request.POST.get(key, "")[:_MAX_FIELD] for key in keys}


@require_http_methods(["GET", "POST"])
@auth.account_required
def member_add(request: HttpRequest, account: Account) -> HttpResponse:
    """Register a family member on the account."""
    if request.method == "GET":
        return render(request, "people/member_form.html", _member_form(request, account, {}))
    values = _posted(request)
    try:
        member = services.beneficiary_add(
            account=account,
            name=values["name"],
            sex=values["sex"],
            birth_year=_year(values["birth_year"]),
            id_type_code=values["id_type"],
            id_number=values["id_number"],
        )
    except DomainError as error:
        context = _member_form(request, account, values, errors=refusal(error))
        return refused(request, "people/member_form.html", context, error)
    messages.success(
        request,
        _("{name} is registered, with the reference number {reference}.").format(
            name=member.name, reference=member.reference
        ),
    )
    return redirect(_next(request))


def _member_or_404(account: Account, reference: str) -> Beneficiary:
    try:
        return beneficiary_for_account(account, reference)
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET", "POST"])
@auth.account_required
def member_edit(request: HttpRequest, account: Account, reference: str) -> HttpResponse:
    """Correct a member's details (possible until the first dose)."""
    member = _member_or_404(account, reference)
    if request.method == "GET":
        values = {
            "name": member.name,
            "sex": member.sex,
            "birth_year": str(member.birth_year),
            "id_type": member.id_type.code,
        }
        context = _member_form(request, account, values, member=member)
        return render(request, "people/member_form.html", context)
    values = _posted(request)
    try:
        services.beneficiary_update(
            account=account,
            beneficiary=member,
            name=values["name"],
            sex=values["sex"],
            birth_year=_year(values["birth_year"]),
            id_type_code=values["id_type"] or None,
            id_number=values["id_number"].strip() or None,
        )
    except DomainError as error:
        context = _member_form(request, account, values, member=member, errors=refusal(error))
        return refused(request, "people/member_form.html", context, error)
    messages.success(request, _("The details of {name} are saved.").format(name=values["name"]))
    return redirect("people:account")


@require_http_methods(["GET", "POST"])
@auth.account_required
def member_remove(request: HttpRequest, account: Account, reference: str) -> HttpResponse:
    """Remove a member from the account, after a confirmation (possible until the first dose)."""
    member = _member_or_404(account, reference)
    context: dict[str, Any] = {"member": member, "errors": {}}
    if request.method == "GET":
        return render(request, "people/member_remove.html", context)
    try:
        services.beneficiary_remove(account=account, beneficiary=member)
    except DomainError as error:
        context["errors"] = refusal(error)
        return refused(request, "people/member_remove.html", context, error)
    messages.success(request, _("{name} was removed from your account.").format(name=member.name))
    return redirect("people:account")
