"""The keyed hashes that stand in for secrets we must check but never keep."""

import hashlib
import hmac

from django.conf import settings


def id_number_hash(*, country_code: str, id_type_code: str, number: str) -> str:
    """Return the keyed hash (hex HMAC-SHA256) of a normalised identity document number."""
    message = f"{country_code}:{id_type_code}:{number}".encode()
    return hmac.new(settings.ID_HASH_KEY.encode(), message, hashlib.sha256).hexdigest()


def otp_code_hash(*, txn: str, code: str) -> str:
    """Return the keyed hash (hex HMAC-SHA256) of a one-time code sent for a challenge."""
    # The challenge id is part of the message, so equal codes never hash alike.
    message = f"otp:{txn}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
