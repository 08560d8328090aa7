"""Day-before reminders: one SMS per booked appointment, in the account's language.

Run every hour (Celery beat or cron) rather than once a day: each appointment's reminder
has a dedupe key, so a run sends only what earlier runs did not, which catches the
bookings made during the day for tomorrow and any run missed while beat was down.
Nothing goes out before the pack's `[booking] reminder_hour` (10 by default) or from
QUIET_FROM_HOUR on, in the country's time zone, so that nobody is woken by a reminder.
"""

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from vaxnet.booking.messages import notify_beneficiary
from vaxnet.booking.models import Appointment, Session
from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country
from vaxnet.notifications.models import Message

logger = logging.getLogger(__name__)

TEMPLATE = "reminder"
REMINDER_HOUR = 10
QUIET_FROM_HOUR = 21
# Sessions read at a time, and appointments read and messages queued per transaction:
# memory stays flat on a national day.
SESSION_PAGE = 200
BATCH = 500


def reminder_dedupe_key(appointment: Appointment) -> str:
    """Return the key under which an appointment's reminder is queued once."""
    return f"{TEMPLATE}:{appointment.public_id}"


def _sending_hours(country: Country) -> range:
    hour = country.setting("booking", "reminder_hour", REMINDER_HOUR)
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour < QUIET_FROM_HOUR:
        hour = REMINDER_HOUR
    return range(hour, QUIET_FROM_HOUR)


def reminders_send(*, now: datetime | None = None) -> int:
    """Queue a reminder for every booked appointment of tomorrow; return how many were new.

    Tomorrow is the day after `now` in each country's time zone; outside its sending hours
    a country gets nothing on this run.
    """
    now = now or timezone.now()
    queued = 0
    for country in Country.objects.order_by("pk"):
        local = now.astimezone(ZoneInfo(country.timezone))
        if local.hour not in _sending_hours(country):
            continue
        queued += _remind_country(country=country, day=local.date() + timedelta(days=1))
    return queued


def _remind_country(*, country: Country, day: date) -> int:
    """Queue the reminders of one country's sessions on one day, a batch at a time."""
    sessions = Session.objects.filter(
        date=day, status=Session.Status.PLANNED, facility__country=country
    ).order_by("pk")
    queued = 0
    after = 0
    while True:
        # Keyset pages, not OFFSET (which rereads every earlier row) nor a cursor held open
        # while writing (which SQLite does not isolate from the writes). Appointments are
        # read by session, through their (session, status) index.
        page = list(sessions.filter(pk__gt=after).values_list("pk", flat=True)[:SESSION_PAGE])
        if not page:
            return queued
        after = page[-1]
        queued += _remind_sessions(session_ids=page)
        logger.info("reminders for %s on %s: %d queued so far", country.code, day, queued)


def _remind_sessions(*, session_ids: list[int]) -> int:
    """Queue the reminders of the booked appointments in some sessions, BATCH per transaction."""
    due = (
        Appointment.objects.filter(session_id__in=session_ids, status=Appointment.Status.BOOKED)
        .select_related("beneficiary__account", "session__facility", "slot")
        .order_by("pk")
    )
    queued = 0
    after = 0
    while True:
        batch = list(due.filter(pk__gt=after)[:BATCH])
        if not batch:
            return queued
        after = batch[-1].pk
        keys = {reminder_dedupe_key(appointment): appointment for appointment in batch}
        sent = set(
            Message.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True)
        )
        with transaction.atomic():
            for key, appointment in keys.items():
                if key in sent:
                    continue
                try:
                    notify_beneficiary(
                        beneficiary=appointment.beneficiary,
                        session=appointment.session,
                        slot=appointment.slot,
                        template=TEMPLATE,
                        dedupe_key=key,
                        code=appointment.security_code,
                    )
                except DomainError as error:
                    # One account the outbox refuses (say, a language the pack dropped)
                    # must not cost everybody else their reminder; it refuses before writing.
                    logger.warning("no reminder for %s: %s", appointment.public_id, error.code)
                    continue
                queued += 1
