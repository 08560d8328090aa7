"""The outbox: every message vaxnet sends, rendered in the recipient's language, on record."""

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vaxnet.core.ids import public_id

# A message is tried at most this many times, whoever tries (the task or `send_pending`).
MAX_ATTEMPTS = 5


def _new_public_id() -> str:
    return public_id(12)


class Message(models.Model):
    """One outgoing message: to whom, what was said, and how the sending went."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        # Email comes later: a template folder and transports of its own, same outbox.

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.SMS
    )
    # An E.164 phone number for SMS; long enough for an email address later.
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=10)
    template = models.CharField(_("template"), max_length=40)
    # Secrets (the OTP code) are stored masked here; only the body carries them, until sent.
    context = models.JSONField(_("context"), default=dict, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    # Whether the last failure was temporary (gateway down, timeout), so that a retry may help.
    retryable = models.BooleanField(_("retryable"), default=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # An OTP or a held waitlist slot is worthless late: such messages are not sent after this.
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    transport = models.CharField(_("transport"), max_length=20, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)
    # Given by callers whose request may be retried: one message per key, however often asked.
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            # `send_pending`: queued or retryable messages, oldest first; stale claims.
            models.Index(fields=["status", "created_at"], name="message_status_created"),
            # Delivery reports from a gateway name its id.
            models.Index(
                fields=["provider_id"],
                condition=~Q(provider_id=""),
                name="message_provider_id",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="message_dedupe_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.template} {self.status}"

    def masked_recipient(self) -> str:
        """Return the recipient with all but the last four characters hidden."""
        visible = self.recipient[-4:]
        return "•" * max(len(self.recipient) - 4, 0) + visible

    def is_due(self, *, now: datetime) -> bool:
        """Return whether the message still waits to be sent and is not too late to send."""
        waiting = self.status == self.Status.QUEUED or (
            self.status == self.Status.FAILED and self.retryable
        )
        return waiting and (self.expires_at is None or self.expires_at > now)


# Messages waiting for an attempt: never tried yet, or failed for a reason that may pass.
WAITING = Q(status=Message.Status.QUEUED) | Q(status=Message.Status.FAILED, retryable=True)
