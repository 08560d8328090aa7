"""Citizen sign-in on the pages: the signed-in account lives in Django's session."""

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from vaxnet.people.models import Account

SESSION_KEY = "vaxnet_account"
_CACHE = "_vaxnet_account"

P = ParamSpec("P")
AccountView = Callable[Concatenate[HttpRequest, Account, P], HttpResponse]


def current_account(request: HttpRequest) -> Account | None:
    """Return the active account signed in on this request's session, or None."""
    if hasattr(request, _CACHE):
        cached: Account | None = getattr(request, _CACHE)
        return cached
    account = None
    pk = request.session.get(SESSION_KEY)
    if isinstance(pk, int):
        account = Account.objects.select_related("country").filter(pk=pk, active=True).first()
    setattr(request, _CACHE, account)
    return account


def sign_in(request: HttpRequest, account: Account) -> None:
    """Remember the account on the session, under a new session key (against fixation)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = account.pk
    setattr(request, _CACHE, account)


def sign_out(request: HttpRequest) -> None:
    """Forget the account and everything else kept on the session."""
    request.session.flush()
    setattr(request, _CACHE, None)


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """Return a local URL to go on to after signing in, or the default for anything else."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def sign_in_url(next_url: str) -> str:
    """Return the sign-in page that comes back to a URL afterwards."""
    return f"{reverse('people:sign_in')}?{urlencode({'next': next_url})}"


def account_required(view: AccountView[P]) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Call the view with the signed-in account, or send the visitor to sign in first."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        account = current_account(request)
        if account is None:
            target = sign_in_url(request.get_full_path())
            if getattr(request, "htmx", False):
                # htmx would swap the sign-in page into a fragment: make it a full navigation.
                return HttpResponseClientRedirect(target)
            return HttpResponseRedirect(target)
        return view(request, account, *args, **kwargs)

    return wrapper
