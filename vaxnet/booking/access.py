"""The one place that decides which appointment, offer or waiting-list entry an account may see.

Missing and not-yours answer alike (NotFound), so that probing appointment ids
teaches nothing.
"""

from vaxnet.booking.models import Appointment, WaitlistEntry, WaitlistOffer
from vaxnet.core.errors import NotFound
from vaxnet.people.models import Account

PUBLIC_ID_MAX_LENGTH = 16


def appointment_for_account(account: Account, public_id: str) -> Appointment:
    """Return the appointment if it is for one of the account's beneficiaries, else NotFound."""
    public_id = str(public_id).strip()
    if not account.active:
        raise NotFound()
    if not public_id or len(public_id) > PUBLIC_ID_MAX_LENGTH or not public_id.isalnum():
        raise NotFound()
    appointment = (
        Appointment.objects.filter(public_id=public_id)
        .filter(beneficiary__account=account)
        .select_related(
            "beneficiary__account", "session__facility__region", "session__vaccine", "slot"
        )
        .first()
    )
    if appointment is None:
        raise NotFound()
    return appointment


def _public_id_ok(public_id: str) -> bool:
    return bool(public_id) and len(public_id) <= PUBLIC_ID_MAX_LENGTH and public_id.isalnum()


def offer_for_account(account: Account, public_id: str) -> WaitlistOffer:
    """Return the waiting-list offer if it is for one of the account's members, else NotFound."""
    public_id = str(public_id).strip()
    if not account.active:
        raise NotFound()
    if not _public_id_ok(public_id):
        raise NotFound()
    offer = (
        WaitlistOffer.objects.filter(public_id=public_id)
        .filter(entry__beneficiary__account=account)
        .select_related(
            "entry__beneficiary__account", "session__facility", "session__vaccine", "slot"
        )
        .first()
    )
    if offer is None:
        raise NotFound()
    return offer


def entry_for_account(account: Account, public_id: str) -> WaitlistEntry:
    """Return the waiting-list entry if it is for one of the account's members, else NotFound."""
    public_id = str(public_id).strip()
    if not account.active:
        raise NotFound()
    if not _public_id_ok(public_id):
        raise NotFound()
    entry = (
        WaitlistEntry.objects.filter(public_id=public_id)
        .filter(beneficiary__account=account)
        .select_related("beneficiary__account", "vaccine")
        .first()
    )
    if entry is None:
        raise NotFound()
    return entry
