"""Messages to citizens about their sessions and appointments, in the account's language."""

from django.utils import translation
from django.utils.formats import date_format

from vaxnet.booking.models import Appointment, Session, Slot
from vaxnet.notifications.kinds import KINDS
from vaxnet.notifications.services import message_enqueue
from vaxnet.people.models import Beneficiary


def notify_beneficiary(
    *,
    beneficiary: Beneficiary,
    session: Session,
    slot: Slot | None,
    template: str,
    dedupe_key: str,
    **extra: str | int,
) -> None:
    """Queue a message about a session to a beneficiary's account, in its language."""
    account = beneficiary.account
    if account is None:
        return  # registered at a facility without a mobile number: nobody to write to
    with translation.override(account.language):
        context: dict[str, str | int] = {
            "name": beneficiary.name,
            "centre": session.facility.name,
            "date": date_format(session.date, "DATE_FORMAT"),
            "slot": str(slot) if slot is not None else "",
            **extra,
        }
    keys = KINDS[template].keys
    message_enqueue(
        to=account.phone,
        language=account.language,
        template=template,
        # Each message takes only what its text uses.
        context={key: value for key, value in context.items() if key in keys},
        dedupe_key=dedupe_key,
    )


def notify_appointment(appointment: Appointment, template: str, **extra: str | int) -> None:
    """Queue a message about an appointment to its account, once per appointment and status."""
    notify_beneficiary(
        beneficiary=appointment.beneficiary,
        session=appointment.session,
        slot=appointment.slot,
        template=template,
        dedupe_key=f"{template}:{appointment.public_id}:{appointment.status}",
        code=appointment.security_code,
        **extra,
    )
