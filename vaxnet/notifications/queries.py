"""Reads of the outbox."""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from vaxnet.notifications.models import Message


def messages_waiting(*, now: datetime, settle: timedelta) -> QuerySet[Message]:
    """Return messages still to be tried, oldest first, leaving alone those queued just now.

    A message queued less than `settle` ago is probably being sent by its own task.
    """
    return Message.objects.filter(
        Q(status=Message.Status.QUEUED, created_at__lt=now - settle)
        | Q(status=Message.Status.FAILED, retryable=True)
    ).order_by("created_at", "id")
