"""Staff sign-in pages: password, then a TOTP code when the user has one; TOTP set-up and removal.

Nobody is signed in (Django's login) before every step they owe is done: a password alone
leaves a pending sign-in in the session, good for the code page (or, for an administrator
who must use TOTP and has not set it up, the set-up page) for a few minutes.
"""

import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from vaxnet.core import staff_auth, totp
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.ratelimit import RateLimited

# A password typed and a code (or the set-up) still owed: {"user", "at", "next", "enrol"}.
PENDING = "vaxnet_staff_pending"
PENDING_SECONDS = 10 * 60
# Set when this session's sign-in (or set-up) checked a TOTP code.
SECOND_FACTOR = "vaxnet_staff_second_factor"
_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SignInForm(forms.Form):
    """A user name and a password."""

    username = forms.CharField(label=gettext_lazy("User name"), max_length=150)
    password = forms.CharField(
        label=gettext_lazy("Password"), strip=False, max_length=4096, widget=forms.PasswordInput
    )


def _client(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "")


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("staff:home")


def _with_retry_after(response: HttpResponse, error: DomainError) -> HttpResponse:
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return response


def _complete(request: HttpRequest, user: User, *, second_factor: bool, next_url: str) -> None:
    """Sign the user in on a new session key, with the clocks of its expiry started."""
    staff_auth.staff_sign_in_complete(
        user=user, second_factor=second_factor, client=_client(request)
    )
    request.session.pop(PENDING, None)
    # A new session key (no fixation); the expiry clocks start (middleware.stamp_staff_session).
    login(request, user, backend=_BACKEND)
    request.session[SECOND_FACTOR] = second_factor


def _pending(request: HttpRequest, *, enrol: bool) -> tuple[User, str] | None:
    """Return the user and next page of a pending sign-in at this step, if still fresh."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or bool(pending.get("enrol")) != enrol:
        return None
    at = pending.get("at")
    if not isinstance(at, int | float) or timezone.now().timestamp() - at > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    pk = pending.get("user")
    user = User.objects.filter(pk=pk, is_active=True).first() if isinstance(pk, int) else None
    if user is None:
        return None
    return user, _safe_next(request, pending.get("next"))


def second_factor_missing(request: HttpRequest) -> str | None:
    """Say what a signed-in user still owes: "enrol" (set TOTP up), "verify" (sign in with it)."""
    user = request.user
    if not settings.VAXNET_STAFF_TOTP_REQUIRED or not isinstance(user, User):
        return None
    if request.session.get(SECOND_FACTOR) or not staff_auth.totp_required(user=user):
        return None
    return "verify" if staff_auth.totp_enabled(user=user) else "enrol"


def staff_gate(request: HttpRequest) -> HttpResponse | None:
    """Return where a signed-in user must go before any staff page, or None if nowhere."""
    missing = second_factor_missing(request)
    if missing is None:
        return None
    if missing == "enrol":
        messages.info(request, _("Administrators must set up an authenticator app first."))
        response: HttpResponse = redirect("staff:totp_enrol")
    else:
        # Signed in before TOTP was required of them, or without it: sign in again with it.
        logout(request)
        messages.info(request, _("Please sign in again with a code from your authenticator app."))
        response = redirect_to_login(request.get_full_path(), login_url="staff:sign_in")
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(response["Location"])
    return response


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Check a staff member's user name and password: sign in, or go on to the code."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return staff_gate(request) or redirect(next_url)
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_auth.staff_password_check(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                client=_client(request),
            )
            return _after_password(request, user, next_url)
        except DomainError as error:
            form.add_error(None, str(error.message))
            status = error.status if error.status == 429 else 200
            return _with_retry_after(
                render(
                    request, "staff/sign_in.html", {"form": form, "next": next_url}, status=status
                ),
                error,
            )
    return render(request, "staff/sign_in.html", {"form": form, "next": next_url}, status=status)


def _after_password(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    request.session.cycle_key()  # the pending sign-in is worth something: a new key for it
    pending = {"user": user.pk, "at": timezone.now().timestamp(), "next": next_url}
    if staff_auth.totp_enabled(user=user):
        request.session[PENDING] = {**pending, "enrol": False}
        return redirect("staff:sign_in_code")
    if staff_auth.totp_required(user=user):
        request.session[PENDING] = {**pending, "enrol": True}
        return redirect("staff:totp_enrol")
    _complete(request, user, second_factor=False, next_url=next_url)
    return redirect(next_url)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """Ask for the code of the authenticator app after the password."""
    pending = _pending(request, enrol=False)
    if pending is None:
        messages.info(request, _("Please sign in again."))
        return redirect("staff:sign_in")
    user, next_url = pending
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            staff_auth.staff_code_check(
                user=user, code=request.POST.get("code", "")[:20], client=_client(request)
            )
            _complete(request, user, second_factor=True, next_url=next_url)
            return redirect(next_url)
        except DomainError as error:
            errors["code"] = str(error.message)
            if error.status == 429:
                status = 429
            response = render(request, "staff/sign_in_code.html", {"errors": errors}, status=status)
            return _with_retry_after(response, error)
    return render(request, "staff/sign_in_code.html", {"errors": errors}, status=status)


def _enrolling(request: HttpRequest) -> tuple[User, str | None] | None:
    """Return who sets TOTP up: the signed-in user, or a pending sign-in that must (and next)."""
    if isinstance(request.user, User):
        return request.user, None
    pending = _pending(request, enrol=True)
    if pending is None:
        return None
    return pending


def _qr_svg(uri: str) -> str:
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(
        scale=5, dark="#000", light="#fff", title=_("QR code for your authenticator app")
    )
    return svg


@never_cache
@require_http_methods(["GET", "POST"])
def totp_enrol(request: HttpRequest) -> HttpResponse:
    """Show a new TOTP secret (text and QR code) and turn TOTP on with a first code."""
    enrolling = _enrolling(request)
    if enrolling is None:
        return redirect_to_login(request.get_full_path(), login_url="staff:sign_in")
    user, next_url = enrolling
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            staff_auth.totp_enrol_confirm(user=user, code=request.POST.get("code", "")[:20])
            if next_url is not None:
                _complete(request, user, second_factor=True, next_url=next_url)
                messages.success(request, _("Your authenticator app is set up."))
                return redirect(next_url)
            request.session[SECOND_FACTOR] = True
            messages.success(request, _("Your authenticator app is set up."))
            return redirect("staff:home")
        except DomainError as error:
            if error.code == "totp_already_enabled":
                messages.info(request, str(error.message))
                return redirect("staff:home")
            errors["code"] = str(error.message)
    try:
        secret = staff_auth.totp_enrol_begin(user=user)
    except DomainError as error:
        messages.info(request, str(error.message))
        return redirect("staff:home")
    uri = totp.provisioning_uri(secret, account=user.get_username(), issuer=staff_auth.ISSUER)
    context = {
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "qr_svg": mark_safe(_qr_svg(uri)),  # noqa: S308 - segno's SVG of our own URI
        "errors": errors,
        "required": next_url is not None,
    }
    return render(request, "staff/totp_enrol.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def totp_disable(request: HttpRequest) -> HttpResponse:
    """Turn TOTP off for the signed-in user, with a current code."""
    user = request.user
    if not isinstance(user, User):
        return redirect_to_login(request.get_full_path(), login_url="staff:sign_in")
    gate = staff_gate(request)
    if gate is not None:
        return gate
    if not staff_auth.totp_enabled(user=user):
        return redirect("staff:totp_enrol")
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            staff_auth.totp_disable(
                user=user, code=request.POST.get("code", "")[:20], client=_client(request)
            )
            request.session[SECOND_FACTOR] = False
            messages.success(request, _("Your authenticator app is no longer used to sign in."))
            return redirect("staff:home")
        except DomainError as error:
            errors["code"] = str(error.message)
            status = 429 if error.status == 429 else 200
    return render(request, "staff/totp_disable.html", {"errors": errors}, status=status)


def admin_sign_in(request: HttpRequest, extra_context: object = None) -> HttpResponse:
    """Send the Django admin's sign-in to the staff sign-in (password, lock-out and TOTP)."""
    next_url = request.GET.get("next") or reverse("admin:index")
    if request.user.is_authenticated:
        gate = staff_gate(request)
        if gate is not None:
            return gate
        if admin.site.has_permission(request):
            return redirect(_safe_next(request, next_url))
        raise PermissionDenied
    return redirect_to_login(next_url, login_url="staff:sign_in")


def admin_has_permission(request: HttpRequest) -> bool:
    """Let into the Django admin only active Django staff who owe no second factor."""
    user = request.user
    return bool(user.is_active and user.is_staff) and second_factor_missing(request) is None
