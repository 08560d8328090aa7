"""Every write to the outbox: queue a message with the caller's transaction, send it once."""

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.core.errors import DomainError
from vaxnet.core.rows import insert_returning
from vaxnet.notifications.batching import Batcher
from vaxnet.notifications.kinds import KINDS, Kind
from vaxnet.notifications.models import MAX_ATTEMPTS, WAITING, Message
from vaxnet.notifications.render import mask_secrets, render_text
from vaxnet.notifications.transports import TransportError, get_transport

logger = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
DEDUPE_KEY_MAX = 200


def message_enqueue(
    *,
    to: str,
    language: str,
    template: str,
    context: Mapping[str, str | int | float | bool],
    dedupe_key: str | None = None,
) -> Message:
    """Queue an SMS in the recipient's language; it goes out once the caller's transaction commits.

    A repeated `dedupe_key` returns the message already queued under it, unchanged.
    """
    kind = KINDS.get(template)
    if kind is None:
        raise DomainError(
            "notification_template",
            _("There is no message called {template}.").format(template=template),
        )
    if language not in dict(settings.LANGUAGES):
        raise DomainError(
            "notification_language",
            _("Messages cannot be sent in the language {language}.").format(language=language),
        )
    if not E164.fullmatch(to):
        raise DomainError(
            "notification_recipient",
            _("A message goes to a phone number in international form, like +919876543210."),
        )
    if dedupe_key is not None and not 0 < len(dedupe_key) <= DEDUPE_KEY_MAX:
        raise DomainError(
            "notification_dedupe_key",
            _("A deduplication key has 1 to {max} characters.").format(max=DEDUPE_KEY_MAX),
        )
    values = {**kind.defaults, **_checked_context(kind, context)}
    now = timezone.now()
    expires_at = None
    if kind.expires_with is not None:
        expires_at = now + timedelta(minutes=_positive_int(values[kind.expires_with]))
    body = render_text(channel="sms", template=template, language=language, context=values)

    message = Message(
        channel=Message.Channel.SMS,
        recipient=to,
        language=language,
        template=template,
        context=mask_secrets(template, values),
        body=body,
        expires_at=expires_at,
        dedupe_key=dedupe_key or "",
    )
    # One statement, so no transaction of its own: with the caller's, or committed at once.
    if not _insert_unless_twin(message):
        if dedupe_key is None:  # pragma: no cover - only a public id collision gets here
            raise IntegrityError("the message could not be queued")
        return Message.objects.get(dedupe_key=dedupe_key)
    # With a broker, the id joins a batch published from a thread of this process, so the
    # request pays no round trip to the broker (see `batching`). Robust all the same: a
    # failure must not fail the caller's committed work; the message stays queued and
    # `vaxnet send_pending` sends it later.
    transaction.on_commit(partial(_dispatch, message.pk), robust=True)
    return message


def _insert_unless_twin(message: Message) -> bool:
    """Insert a new message unless its dedupe key is taken; return whether it was inserted.

    One `INSERT … ON CONFLICT DO NOTHING RETURNING id` (SQLite: `INSERT OR IGNORE`): a twin,
    queued earlier or by a concurrent transaction (which this one then waits for), turns
    the insert into nothing instead of an error, so no savepoint is needed to keep the
    caller's transaction usable, and no SELECT before the insert to find the usual twin.
    The statement is built once (`rows.insert_returning`), not by the ORM on every message.
    """
    return insert_returning(message, ignore_conflicts=True) is not None


def _checked_context(kind: Kind, context: Mapping[str, object]) -> dict[str, object]:
    missing = sorted(set(kind.needs) - set(context))
    if missing:
        raise DomainError(
            "notification_context",
            _("The message {template} needs {keys}.").format(
                template=kind.key, keys=", ".join(missing)
            ),
        )
    unknown = sorted(set(context) - kind.keys)
    if unknown:
        raise DomainError(
            "notification_context",
            _("The message {template} does not use {keys}.").format(
                template=kind.key, keys=", ".join(unknown)
            ),
        )
    unfit = sorted(k for k, v in context.items() if not isinstance(v, str | int | float))
    if unfit:
        raise DomainError(
            "notification_context",
            _("Give {keys} as text or a number.").format(keys=", ".join(unfit)),
        )
    return dict(context)


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DomainError(
            "notification_context", _("A number of minutes must be a whole number above zero.")
        )
    return value


def _dispatch(message_id: int) -> None:
    from vaxnet.notifications.tasks import send_message

    if send_message.app.conf.task_always_eager:
        send_message.delay(message_id)  # no broker: sent in this process, at once
    else:
        _outgoing.add(message_id)


def _publish(message_ids: list[int]) -> None:
    from vaxnet.notifications.tasks import send_messages

    send_messages.delay(message_ids)


# The ids of this process's committed messages, on their way to the workers: batches of up
# to a tenth of a second, which a text message's delivery does not notice, and which make
# the thread's publishing cheap per message at a booking peak.
_outgoing = Batcher(_publish, name="vaxnet-outbox", delay=0.1)


def message_send(*, message: Message) -> Message:
    """Make one attempt at sending a waiting message; one already taken or done is left alone.

    Not one transaction but two short writes around the transport: a claim (a conditional
    UPDATE, so that of two workers only one sends) and the outcome. No transaction stays
    open while a gateway is slow.
    """
    now = timezone.now()
    if message.expires_at is not None and message.expires_at <= now:
        Message.objects.filter(WAITING, pk=message.pk).update(
            status=Message.Status.FAILED,
            retryable=False,
            last_error="expired before it could be sent",
            body=_body_on_record(message),
        )
        message.refresh_from_db()
        return message

    claimed = Message.objects.filter(WAITING, pk=message.pk).update(
        status=Message.Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now
    )
    message.refresh_from_db()
    if not claimed:
        return message
    # The attempt number is the claim's token: only this attempt may write its outcome.
    mine = Message.objects.filter(
        pk=message.pk, status=Message.Status.SENDING, attempts=message.attempts
    )

    transport = get_transport()
    try:
        provider_id = transport.send(message)
    except TransportError as exc:
        retryable = exc.retryable and message.attempts < MAX_ATTEMPTS
        reason = exc.reason
    except Exception as exc:
        # A bug in a transport must not leave the message claimed for ever.
        logger.exception("message %s: the %s transport broke", message.public_id, transport.name)
        retryable, reason = message.attempts < MAX_ATTEMPTS, f"transport error: {exc!r}"
    else:
        mine.update(
            status=Message.Status.SENT,
            retryable=False,
            sent_at=timezone.now(),
            transport=transport.name,
            provider_id=provider_id[:100],
            last_error="",
            body=_body_on_record(message),
        )
        logger.info(
            "message %s (%s) sent by %s, attempt %d",
            message.public_id,
            message.template,
            transport.name,
            message.attempts,
        )
        message.refresh_from_db()
        return message

    outcome: dict[str, Any] = {
        "status": Message.Status.FAILED,
        "retryable": retryable,
        "transport": transport.name,
        "last_error": reason[:500],
    }
    if not retryable:
        outcome["body"] = _body_on_record(message)
    mine.update(**outcome)
    logger.warning(
        "message %s (%s) not sent by %s, attempt %d%s: %s",
        message.public_id,
        message.template,
        transport.name,
        message.attempts,
        ", will retry" if retryable else "",
        reason,
    )
    message.refresh_from_db()
    return message


def _body_on_record(message: Message) -> str:
    """Return the body as it may be kept once sending is over: with its secrets masked."""
    kind = KINDS.get(message.template)
    if kind is None or not kind.secrets:
        return message.body
    # The stored context has the secrets masked already.
    return render_text(
        channel=message.channel,
        template=message.template,
        language=message.language,
        context=message.context,
    )


def message_release_stale(*, older_than: timedelta) -> int:
    """Give back messages whose sender vanished mid-attempt (a killed worker) for a retry."""
    cutoff = timezone.now() - older_than
    return Message.objects.filter(status=Message.Status.SENDING, last_attempt_at__lt=cutoff).update(
        status=Message.Status.FAILED,
        retryable=Case(When(attempts__lt=MAX_ATTEMPTS, then=Value(True)), default=Value(False)),
        last_error="the attempt was interrupted",
    )
