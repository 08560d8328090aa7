"""The one place that decides which appointment an account may see and act on.

Missing and not-yours answer alike (NotFound), so that probing appointment ids
teaches nothing.
"""

from vaxnet.booking.models import Appointment
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
