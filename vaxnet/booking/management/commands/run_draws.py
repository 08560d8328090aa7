"""vaxnet run_draws: fix the seeds of upcoming draws and make every draw whose window has closed."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from vaxnet.booking.draw import draw_close, draw_prepare, draws_due
from vaxnet.booking.models import Session
from vaxnet.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Make every fair draw whose window has closed, and fix (and publish the commitment "
        "of) the seeds of sessions released soon. Idempotent; safe to run from cron every "
        "minute, and from several machines at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--ahead",
            type=int,
            default=24,
            help="prepare the draws of sessions released within this many hours (default 24)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        upcoming = Session.objects.filter(
            status=Session.Status.PLANNED,
            release_at__gt=now,
            release_at__lte=now + timedelta(hours=options["ahead"]),
            draw__isnull=True,
        ).select_related("facility__country")
        prepared = sum(draw_prepare(session=session) is not None for session in upcoming)
        made = conflicts = 0
        for draw in draws_due(now):
            # A conflict (a winner booked meanwhile by a concurrent draw) rolls the draw back;
            # the second try excludes that winner.
            for _attempt in range(2):
                try:
                    made += draw_close(draw=draw, now=now).closed
                    break
                except DomainError as error:
                    if error.code != "draw_conflict":
                        raise
                    conflicts += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"{made} draws made, {prepared} prepared, {conflicts} conflicts retried."
            )
        )
