"""vaxnet send_reminders: queue an SMS reminder for each booked appointment of tomorrow."""

from typing import Any

from django.core.management.base import BaseCommand

from vaxnet.booking.reminders import reminders_send


class Command(BaseCommand):
    help = (
        "Queue a reminder SMS, in the account's language, for every booked appointment whose "
        "session is tomorrow in the country's time zone. Each appointment is reminded once "
        "however often this runs; it sends only within the day's sending hours. Safe to run "
        "from cron every hour."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        queued = reminders_send()
        self.stdout.write(self.style.SUCCESS(f"{queued} reminders queued."))
