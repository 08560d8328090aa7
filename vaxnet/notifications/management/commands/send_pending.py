"""vaxnet send_pending: try again the messages that are still queued or failed for now."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from vaxnet.notifications.models import Message
from vaxnet.notifications.queries import messages_waiting
from vaxnet.notifications.services import message_release_stale, message_send


class Command(BaseCommand):
    help = (
        "Send the messages still queued (the broker was down, the process stopped) or failed "
        "for a reason that may pass (the gateway was down). Safe to run at any time, from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit", type=int, default=1000, help="at most this many messages (default 1000)"
        )
        parser.add_argument(
            "--settle",
            type=int,
            default=60,
            help="leave alone messages queued less than this many seconds ago (default 60)",
        )
        parser.add_argument(
            "--stale",
            type=int,
            default=15,
            help="retry messages stuck in sending for this many minutes (default 15)",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="hand the messages to the Celery workers instead of sending them here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        released = message_release_stale(older_than=timedelta(minutes=options["stale"]))
        if released:
            self.stdout.write(f"{released} interrupted messages given back for a retry.")
        ids = list(
            messages_waiting(
                now=timezone.now(), settle=timedelta(seconds=options["settle"])
            ).values_list("pk", flat=True)[: options["limit"]]
        )
        if options["queue"]:
            from vaxnet.notifications.tasks import send_message

            for message_id in ids:
                send_message.delay(message_id)
            self.stdout.write(f"{len(ids)} messages handed to the workers.")
            return
        counts = {status: 0 for status in Message.Status.values}
        for message in Message.objects.filter(pk__in=ids).order_by("created_at", "id"):
            counts[message_send(message=message).status] += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(ids)} messages tried: {counts['sent']} sent, {counts['failed']} failed, "
                f"{counts['queued'] + counts['sending']} taken by another sender."
            )
        )
