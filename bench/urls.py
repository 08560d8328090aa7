"""The project's routes plus the ceilings benchmarks compare with.

- `bench/bare`: fixed bytes set in-process (bench/directory.py).
- `bench/bare-file`: the bytes of the file named by VAXNET_BENCH_BODY, read once per process
  and then served from memory (bench/booking.py, across gunicorn workers).
- `bench/book`: a booking in raw SQL, one transaction, the same reads and writes as
  `POST /api/v1/appointments` needs and nothing else (bench/booking.py).
"""

import json
import os
import secrets
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from vaxnet.api.v1_auth import token_id as signed_token_id
from vaxnet.urls import urlpatterns as project_urlpatterns

BODY = {"bytes": b""}
_FILE_BODY: dict[str, bytes] = {}
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def bare(request: HttpRequest) -> HttpResponse:
    """Return the stored bytes, with no database work and no template."""
    return HttpResponse(BODY["bytes"], content_type="text/html; charset=utf-8")


def bare_file(request: HttpRequest) -> HttpResponse:
    """Return the bytes of VAXNET_BENCH_BODY from memory (read on the first request)."""
    if "bytes" not in _FILE_BODY:
        _FILE_BODY["bytes"] = Path(os.environ["VAXNET_BENCH_BODY"]).read_bytes()
    return HttpResponse(_FILE_BODY["bytes"], content_type="application/json")


def _answer(status: int, data: object) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type="application/json")


def _opaque(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


_ACCOUNT = """
    SELECT t.account_id, a.phone, a.language FROM api_apitoken t
    JOIN people_account a ON a.id = t.account_id
    WHERE t.public_id = %s AND t.revoked_at IS NULL AND t.expires_at > now() AND a.active"""
_BENEFICIARY = """
    SELECT id, name, birth_year FROM people_beneficiary WHERE reference = %s AND account_id = %s"""
_SESSION = """
    SELECT s.id, s.date, f.code, sl.id FROM booking_session s
    JOIN facilities_facility f ON f.id = s.facility_id
    JOIN booking_slot sl ON sl.session_id = s.id AND sl.starts_at = %s
    WHERE s.public_id = %s AND s.status = 'planned' AND s.release_at <= now()
      AND s.date >= current_date AND f.active
      AND extract(year FROM s.date)::int - %s
          BETWEEN s.min_age_years AND coalesce(s.max_age_years, 200)"""
_TAKE_DOSE = """
    UPDATE booking_sessiondose SET booked_online = booked_online + 1
    WHERE session_id = %s AND dose_number = 1 AND booked_online < capacity_online"""
_TAKE_SLOT = "UPDATE booking_slot SET booked = booked + 1 WHERE id = %s AND booked < capacity"
_APPOINTMENT = """
    INSERT INTO booking_appointment (public_id, beneficiary_id, session_id, slot_id,
      dose_number, channel, status, security_code, created_at, updated_at)
    VALUES (%s, %s, %s, %s, 1, 'online', 'booked', %s, now(), now()) RETURNING id"""
_AUDIT = """
    INSERT INTO core_auditevent (at, actor_label, action, object_type, object_id, ip, data)
    VALUES (now(), %s, 'appointment.book', 'booking.appointment', %s, %s, %s)"""
_MESSAGE = """
    INSERT INTO notifications_message (public_id, channel, recipient, language, template,
      context, body, status, retryable, attempts, last_error, created_at, transport,
      provider_id, dedupe_key)
    VALUES (%s, 'sms', %s, %s, 'booking_confirmed', %s, %s, 'waiting', false, 0, '', now(),
      '', '', %s)"""


class _Refused(Exception):
    pass


@csrf_exempt
def raw_book(request: HttpRequest) -> HttpResponse:
    """Book one beneficiary with hand-written SQL: the ceiling for POST /api/v1/appointments."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    # Checking the token's signature is part of the work, as in vaxnet.api.v1_auth.
    token_id = signed_token_id(token) if scheme.lower() == "bearer" else None
    if token_id is None:
        return _answer(401, {"error": "unauthorized"})
    try:
        payload = json.loads(request.body)
        reference, session_id, start = (
            payload["beneficiaries"][0],
            payload["session"],
            payload["slot"],
        )
    except (ValueError, KeyError, IndexError, TypeError):
        return _answer(422, {"error": "bad request"})
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_ACCOUNT, [token_id])
            account = cursor.fetchone()
            if account is None:
                return _answer(401, {"error": "unauthorized"})
            account_id, phone, language = account
            cursor.execute(_BENEFICIARY, [reference, account_id])
            person = cursor.fetchone()
            if person is None:
                return _answer(404, {"error": "not found"})
            beneficiary_id, name, birth_year = person
            cursor.execute(_SESSION, [start, session_id, birth_year])
            found = cursor.fetchone()
            if found is None:
                return _answer(400, {"error": "session_unknown"})
            session_pk, day, centre, slot_pk = found
            cursor.execute(_TAKE_DOSE, [session_pk])
            if cursor.rowcount != 1:
                raise _Refused("dose_full")
            cursor.execute(_TAKE_SLOT, [slot_pk])
            if cursor.rowcount != 1:
                raise _Refused("slot_full")
            public_id, code = _opaque(12), f"{secrets.randbelow(10_000):04d}"
            cursor.execute(_APPOINTMENT, [public_id, beneficiary_id, session_pk, slot_pk, code])
            (appointment_pk,) = cursor.fetchone()
            cursor.execute(
                _AUDIT,
                [
                    f"account:{account_id}",
                    str(appointment_pk),
                    request.META.get("REMOTE_ADDR"),
                    json.dumps({"session": session_id, "dose": 1}),
                ],
            )
            context = {"name": name, "centre": centre, "date": str(day), "code": code}
            cursor.execute(
                _MESSAGE,
                [
                    _opaque(12),
                    phone,
                    language,
                    json.dumps(context),
                    f"{name}: booked at {centre} on {day}, {start}. Code {code}.",
                    f"booking_confirmed:{public_id}:booked",
                ],
            )
    except _Refused as refusal:
        return _answer(400, {"error": {"code": str(refusal)}})
    except IntegrityError:
        return _answer(400, {"error": {"code": "already_booked"}})
    return _answer(201, {"appointments": [{"id": public_id, "security_code": code}]})


urlpatterns = [
    *project_urlpatterns,
    path("bench/bare", bare),
    path("bench/bare-file", bare_file),
    path("bench/book", raw_book),
]
