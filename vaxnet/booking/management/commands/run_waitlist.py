"""vaxnet run_waitlist: lapse expired offers, passing their places on, and offer free places."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from vaxnet.booking.waitlist import waitlist_offers_expire, waitlist_sweep


class Command(BaseCommand):
    help = (
        "Lapse the waiting-list offers past their time (offering each place to the next "
        "person) and offer the free places of open sessions, such as new ones, to the people "
        "waiting. Safe to run from cron every minute."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        lapsed = waitlist_offers_expire(now=now)
        offered = waitlist_sweep(now=now)
        self.stdout.write(self.style.SUCCESS(f"{lapsed} offers lapsed, {offered} places offered."))
