"""Idempotency-Key on the v1 API's POSTs: a retried request gets the first answer again.

The key is claimed by inserting an IdempotentRequest in the same transaction as the work,
so the answer is on record exactly when the work is (a crash leaves neither, and the retry
does the work). Two requests with one key at once: the unique (scope, key) index makes the
second wait for the first to commit (PostgreSQL's unique check; SQLite's IMMEDIATE
transactions), then it fails to insert and replays the stored answer.
"""

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from vaxnet.api.models import IdempotentRequest
from vaxnet.core.errors import DomainError
from vaxnet.core.ratelimit import RateLimited

HEADER = "Idempotency-Key"
KEEP_HOURS = 24
_KEY = re.compile(r"[\x21-\x7e]{1,100}")

Answer = tuple[int, Any]
Transform = Callable[[Any], Any]


def error_body(error: DomainError) -> dict[str, Any]:
    """Return the v1 error shape for a refusal, its message in the active language."""
    detail: dict[str, Any] = {"code": error.code, "message": str(error.message)}
    if error.field:
        detail["field"] = error.field
    return {"error": detail}


def json_response(status: int, data: Any) -> HttpResponse:
    """Return a JSON answer (an empty one for 204)."""
    if status == 204:
        return HttpResponse(status=204)
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(body.encode(), status=status, content_type="application/json")


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, ""):
        digest.update(part.encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def idempotent(
    request: HttpRequest,
    *,
    scope: str,
    work: Callable[[], Answer],
    seal: Transform | None = None,
    unseal: Transform | None = None,
) -> HttpResponse:
    """Do the work once per Idempotency-Key (if the request has one) and answer.

    Refusals (DomainError) are answered and kept like successes, except rate limits,
    after which a retry may succeed. `seal` changes an answer before it is kept and
    `unseal` turns it back when it is replayed (for bearer tokens).
    """
    key = request.headers.get(HEADER)
    if key is None:
        status, data = work()
        return json_response(status, data)
    if not _KEY.fullmatch(key):
        raise DomainError(
            "idempotency_key_invalid",
            _("An Idempotency-Key is 1 to 100 visible ASCII characters."),
            status=422,
        )
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = None
        if record is not None:
            try:
                status, data = work()
            except RateLimited:
                raise
            except DomainError as error:
                status, data = error.status, error_body(error)
            record.status = status
            record.body = json.dumps(seal(data) if seal and status < 300 else data)
            record.save(update_fields=["status", "body"])
            return json_response(status, data)
    return _replay(scope, key, fingerprint, unseal)


def _replay(scope: str, key: str, fingerprint: str, unseal: Transform | None) -> HttpResponse:
    kept = IdempotentRequest.objects.filter(scope=scope, key=key).first()
    if kept is None or kept.status is None:  # pragma: no cover - the row commits with its answer
        raise DomainError(
            "idempotency_in_progress",
            _("A request with this Idempotency-Key is still being handled."),
            status=409,
        )
    if kept.fingerprint != fingerprint:
        raise DomainError(
            "idempotency_key_reused",
            _("This Idempotency-Key was used for a different request."),
            status=422,
        )
    data = json.loads(kept.body) if kept.body else None
    if unseal and kept.status < 300:
        data = unseal(data)
    return json_response(kept.status, data)


def idempotent_purge(*, before: datetime) -> int:
    """Forget the requests kept since before a moment (answers are kept KEEP_HOURS)."""
    with transaction.atomic():
        count, _deleted = IdempotentRequest.objects.filter(created_at__lt=before).delete()
    return count
