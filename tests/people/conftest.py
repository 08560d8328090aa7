"""Citizens for the people tests: `citizen` and `neighbour` are signed-in accounts.

Codes are read where a citizen reads them: from the SMS in the outbox.
"""

import re

import pytest
from django.core.cache import caches
from django.db import transaction

from vaxnet.core.checksums import verhoeff_digit
from vaxnet.countries.models import Country
from vaxnet.notifications.models import Message
from vaxnet.people.models import Account
from vaxnet.people.services import otp_request, otp_verify

CITIZEN_PHONE = "+919876543210"
NEIGHBOUR_PHONE = "+919812345678"
CLIENT = "203.0.113.7"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Start every test with no hits counted (the local-memory cache outlives tests)."""
    caches["default"].clear()


def sms_code(phone: str) -> str:
    """Return the code in the latest sign-in SMS queued for a number."""
    message = Message.objects.filter(recipient=phone, template="otp").order_by("-id").first()
    assert message is not None, f"no sign-in SMS for {phone}"
    found = re.search(r"\b(\d{6})\b", message.body)
    assert found is not None, message.body
    return found.group(1)


def sign_in(country: Country, phone: str, *, client: str = CLIENT, language: str = "en") -> Account:
    """Sign in the way a citizen does: ask for a code, read the SMS, type the code."""
    # Read the SMS before the request commits: once sent, the outbox keeps it masked.
    with transaction.atomic():
        challenge = otp_request(country=country, phone=phone, client=client, language=language)
        code = sms_code(challenge.phone)
    return otp_verify(txn=challenge.public_id, code=code, client=client)


def aadhaar(seed: int) -> str:
    """Return a valid Aadhaar number (12 digits ending in a Verhoeff check digit)."""
    body = str(23456789000 + seed)
    return body + verhoeff_digit(body)


@pytest.fixture
def citizen(country: Country) -> Account:
    return sign_in(country, CITIZEN_PHONE)


@pytest.fixture
def neighbour(country: Country) -> Account:
    return sign_in(country, NEIGHBOUR_PHONE, client="198.51.100.20")
