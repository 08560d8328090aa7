"""Bearer tokens of the v1 API, and the caller's language.

A token is the id of an ApiToken row signed with django.core.signing.Signer (an HMAC with
the secret key). The row decides expiry and revocation, so signing out ends a token at once;
the table alone cannot make a token, since only ids are stored. The signature has no
timestamp, so the same row always gives the same token: an idempotent replay of
/auth/token can hand out the same answer without the token being kept anywhere.
"""

from datetime import timedelta
from typing import cast

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from ninja.security import HttpBearer

from vaxnet.api.models import ApiToken
from vaxnet.core.audit import audit_record
from vaxnet.core.rows import Table, columns, models_from_row
from vaxnet.countries.models import Country
from vaxnet.people.models import Account

TOKEN_LIFETIME = timedelta(minutes=30)
_SALT = "vaxnet.api.v1.token"
_ON_REQUEST = "_vaxnet_api_token"


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT)


def token_text(token_id: str) -> str:
    """Return the bearer token handed out for a token id."""
    return _signer().sign(token_id)


def token_id(text: str) -> str | None:
    """Return the token id a bearer token carries if its signature is right, else None."""
    try:
        return _signer().unsign(text[:200])
    except signing.BadSignature:
        return None


def api_token_issue(*, account: Account) -> ApiToken:
    """Start a token for an account, valid for TOKEN_LIFETIME."""
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            account=account, created_at=now, expires_at=now + TOKEN_LIFETIME
        )
        audit_record(
            actor=None,
            actor_label=f"account:{account.pk}",
            action="api_token.issue",
            obj=token,
        )
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    """End a token now (signing out); an ended token is refused like an unknown one."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            actor=None,
            actor_label=f"account:{token.account_id}",
            action="api_token.revoke",
            obj=token,
        )


def token_for(text: str) -> ApiToken | None:
    """Return the live token a bearer token stands for (its account active), else None."""
    found = token_id(text.strip())
    if found is None:
        return None
    # Written out rather than built by the ORM: this runs on every signed-in request, and
    # building the three-table SELECT cost Django more than running it (0.5 ms against
    # 0.15 ms of CPU). The rows become models as the ORM's own would (vaxnet.core.rows).
    # The public id is unique: no order.
    ops = connection.ops
    tables: list[Table] = [(ApiToken, "t"), (Account, "a"), (Country, "c")]
    sql = (
        f"SELECT {columns(tables)} FROM {ops.quote_name(ApiToken._meta.db_table)} t "  # noqa: S608
        f"JOIN {ops.quote_name(Account._meta.db_table)} a ON a.id = t.account_id "
        f"JOIN {ops.quote_name(Country._meta.db_table)} c ON c.id = a.country_id "
        "WHERE t.public_id = %s AND t.revoked_at IS NULL AND t.expires_at > %s "
        "AND a.active = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [found, ops.adapt_datetimefield_value(timezone.now()), True])
        row = cursor.fetchone()
    if row is None:
        return None
    made = models_from_row(tables, row)
    token, account = cast(ApiToken, made[0]), cast(Account, made[1])
    account.country = cast(Country, made[2])
    token.account = account
    return token


def request_token(request: HttpRequest) -> ApiToken | None:
    """Return the token this request was authenticated with, if any."""
    found: ApiToken | None = getattr(request, _ON_REQUEST, None)
    return found


def optional_account(request: HttpRequest) -> Account | None:
    """Return the account of a valid bearer token on a public endpoint, else None."""
    scheme, _sep, text = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not text:
        return None
    token = token_for(text)
    return token.account if token is not None else None


def caller_language(request: HttpRequest, account: Account | None = None) -> str:
    """Return the language to answer in: Accept-Language first, then the account's.

    CoWIN-style tags ("hi_IN") are understood; only the site's languages are offered.
    """
    offered = [code for code, _name in settings.LANGUAGES]
    wanted = []
    for index, part in enumerate(request.headers.get("Accept-Language", "")[:200].split(",")):
        tag, _sep, params = part.partition(";")
        tag = tag.strip().replace("_", "-").lower()
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and tag != "*" and weight > 0:
            wanted.append((-weight, index, tag))
    for _weight, _index, tag in sorted(wanted):
        for code in (tag, tag.split("-")[0]):
            if code in offered:
                return code
    if account is not None and account.language in offered:
        return account.language
    return settings.LANGUAGE_CODE


def speak(request: HttpRequest, account: Account | None = None) -> str:
    """Answer this request in the caller's language from here on; return that language."""
    language = caller_language(request, account)
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


class BearerToken(HttpBearer):
    """Authenticate with "Authorization: Bearer <token>" from POST /api/v1/auth/token."""

    def authenticate(self, request: HttpRequest, token: str) -> Account | None:
        found = token_for(token)
        if found is None:
            return None
        setattr(request, _ON_REQUEST, found)
        # Messages of refusals are made while the services run: speak the language now.
        speak(request, found.account)
        return found.account
