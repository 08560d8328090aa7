"""Background sending: one task per message, retried with growing pauses while it may help."""

from celery import shared_task

from vaxnet.notifications.models import MAX_ATTEMPTS, Message
from vaxnet.notifications.services import message_send


class RetryLater(Exception):
    """The message failed for a reason that may pass; Celery tries again after a pause."""


@shared_task(
    bind=True,
    autoretry_for=(RetryLater,),
    retry_backoff=30,  # 30 s, 1 min, 2 min, 4 min… (with jitter), at most 30 min apart
    retry_backoff_max=30 * 60,
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


@shared_task
def send_pending() -> None:
    """Hand waiting and retryable messages to the workers (see `vaxnet send_pending`)."""
    from django.core.management import call_command

    call_command("send_pending", "--queue")
