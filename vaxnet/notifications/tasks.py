"""Background sending: one attempt per message, retried with growing pauses while it may help.

Messages arrive in batches (`send_messages`, one task for the ids a web process committed
within a few milliseconds) or one by one (`send_message`, used by `send_pending` and for
the retries of a batch's temporary failures).
"""

import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from vaxnet.notifications.models import MAX_ATTEMPTS, Message
from vaxnet.notifications.services import message_send

logger = logging.getLogger(__name__)

# 30 s, 1 min, 2 min, 4 min… (with jitter), at most 30 min apart.
RETRY_BACKOFF = 30
RETRY_BACKOFF_MAX = 30 * 60


class RetryLater(Exception):
    """The message failed for a reason that may pass; Celery tries again after a pause."""


@shared_task(
    bind=True,
    autoretry_for=(RetryLater,),
    retry_backoff=RETRY_BACKOFF,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=MAX_ATTEMPTS - 1,
)
def send_message(self, message_id: int) -> str:
    """Make one attempt at sending a message; raise RetryLater if a later one may succeed."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        return "missing"
    message = message_send(message=message)
    failed_for_now = message.status == Message.Status.FAILED and message.retryable
    # Without a broker the task runs inside the request that queued the message, where
    # Celery would retry at once, without the pause: leave retries to `send_pending`.
    if failed_for_now and not self.request.is_eager:
        raise RetryLater(message.last_error)
    return str(message.status)


@shared_task(bind=True)
def send_messages(self, message_ids: list[int]) -> dict[str, int]:
    """Make one attempt at sending each message; hand temporary failures to `send_message`.

    A retry is `send_message` as its own first retry would be: after the same pause, and
    counted as retry 1, so the pauses and the number of attempts are those of a message
    sent alone.
    """
    found = list(Message.objects.filter(pk__in=message_ids).order_by("id"))
    counts = {status: 0 for status in Message.Status.values}
    counts["missing"] = len(set(message_ids)) - len(found)
    for message in found:
        try:
            sent = message_send(message=message)
            counts[sent.status] += 1
            failed_for_now = sent.status == Message.Status.FAILED and sent.retryable
            # In-process, without a broker, retries are left to `send_pending`, as above.
            if failed_for_now and not self.request.is_eager:
                _retry_later(sent.pk)
        except Exception:
            # One message's trouble must not hold back the others: `send_pending` tries it again.
            logger.exception("message %s could not be tried", message.public_id)
    return counts


def _retry_later(message_id: int) -> None:
    pause = get_exponential_backoff_interval(
        factor=RETRY_BACKOFF, retries=0, maximum=RETRY_BACKOFF_MAX, full_jitter=True
    )
    send_message.apply_async((message_id,), countdown=pause, retries=1)


@shared_task
def send_pending() -> None:
    """Hand waiting and retryable messages to the workers (see `vaxnet send_pending`)."""
    from django.core.management import call_command

    call_command("send_pending", "--queue")
