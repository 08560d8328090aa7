"""Setup and inspection for the HTTP booking storms, run in the storm server's environment.

`python -m tests.booking.storm_helper setup` reads a plan (JSON on stdin): sessions to open
tomorrow at Hill Town PHC and accounts to create, each with members and a bearer token; it
prints what it made. `python -m tests.booking.storm_helper report` reads session ids and
prints, from the database, their counters and appointments. Both go through the services
where a service exists, in a process of their own, so the tests never share Django with
the server they test.
"""

import json
import os
import sys
from datetime import time, timedelta
from typing import Any


def _aadhaar(seed: int) -> str:
    from vaxnet.core.checksums import verhoeff_digit

    body = str(23456789000 + seed)
    return body + verhoeff_digit(body)


def setup(plan: dict[str, Any]) -> dict[str, Any]:
    """Open the plan's sessions and create its accounts; return their ids and tokens."""
    from django.utils import timezone

    from vaxnet.api.v1_auth import api_token_issue, token_text
    from vaxnet.booking.planning import SlotSpec, session_create
    from vaxnet.countries.models import Country
    from vaxnet.facilities.models import Facility
    from vaxnet.people.models import Account
    from vaxnet.people.services import beneficiary_add
    from vaxnet.vaccines.models import Vaccine

    country = Country.objects.get(code="TEST")
    facility = Facility.objects.get(code="TS-F1")
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    tomorrow = timezone.localdate() + timedelta(days=1)
    sessions = []
    for spec in plan["sessions"]:
        # Slots of two hours from 09:00, sharing the places as evenly as they can.
        count = spec["slots"]
        shares = [spec["capacity"] // count + (n < spec["capacity"] % count) for n in range(count)]
        slots = [
            SlotSpec(time(9 + 2 * n), time(11 + 2 * n), share) for n, share in enumerate(shares)
        ]
        session = session_create(
            by=None,
            facility=facility,
            on=tomorrow,
            vaccine=vaccine,
            capacity={1: (spec["capacity"], 0)},
            slots=slots,
            release_at=timezone.now() - timedelta(days=1),
            min_age_years=18,
        )
        sessions.append({"id": session.public_id, "slots": [f"{s.starts_at:%H:%M}" for s in slots]})
    clients = []
    for n in range(plan["accounts"]):
        account = Account.objects.create(
            country=country, phone=f"{plan['phone_prefix']}{n:05d}", language="en"
        )
        members = [
            beneficiary_add(
                account=account,
                name=f"Storm {n} {m}",
                sex="female",
                birth_year=1980,
                id_type_code="aadhaar",
                id_number=_aadhaar(plan["seed"] + n * 10 + m),
            ).reference
            for m in range(plan["members"])
        ]
        token = token_text(api_token_issue(account=account).public_id)
        clients.append({"token": token, "members": members})
    return {"sessions": sessions, "clients": clients}


def report(session_ids: list[str]) -> dict[str, Any]:
    """Return, for each session, its counters and every appointment in it."""
    from vaxnet.api.models import IdempotentRequest
    from vaxnet.booking.models import Appointment, Session
    from vaxnet.notifications.models import Message

    answered = [
        appointment["id"]
        for body in IdempotentRequest.objects.filter(status=201).values_list("body", flat=True)
        for appointment in json.loads(body).get("appointments", [])
    ]
    known = set(
        Appointment.objects.filter(public_id__in=answered).values_list("public_id", flat=True)
    )
    out: dict[str, Any] = {
        # Written in the transaction that claims the key: never seen without its answer.
        "unanswered_keys": IdempotentRequest.objects.filter(status__isnull=True).count(),
        # The appointments that kept answers (to replay) name, and those not in the database.
        "answered": answered,
        "answered_missing": sorted(set(answered) - known),
        "sessions": {},
    }
    for session in Session.objects.filter(public_id__in=session_ids):
        out["sessions"][session.public_id] = {
            "doses": [
                {"capacity": d.capacity_online, "booked": d.booked_online}
                for d in session.doses.order_by("dose_number")
            ],
            "slots": {
                f"{s.starts_at:%H:%M}": {"capacity": s.capacity, "booked": s.booked}
                for s in session.slots.all()
            },
            "appointments": [
                {
                    "id": a.public_id,
                    "beneficiary": a.beneficiary.reference,
                    "slot": f"{a.slot.starts_at:%H:%M}" if a.slot else None,
                    "status": a.status,
                    # The confirmation SMS is queued in the booking's transaction.
                    "confirmation": Message.objects.filter(
                        dedupe_key=f"booking_confirmed:{a.public_id}:booked"
                    ).exists(),
                }
                for a in Appointment.objects.filter(session=session).select_related(
                    "beneficiary", "slot"
                )
            ],
        }
    return out


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaxnet.settings")
    import django

    django.setup()
    command = sys.argv[1]
    given = json.load(sys.stdin)
    result = setup(given) if command == "setup" else report(given)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
