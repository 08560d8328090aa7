from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vaxnet.core.admin_mixins import ReadOnlyAdmin
from vaxnet.notifications.kinds import KINDS
from vaxnet.notifications.models import Message
from vaxnet.notifications.render import render_text


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The outbox, to read: what was sent to whom and how it went. Nobody edits it."""

    list_display = [
        "created_at",
        "public_id",
        "template",
        "language",
        "masked_to",
        "status",
        "attempts",
        "transport",
        "sent_at",
    ]
    list_filter = ["status", "channel", "template", "language", "transport", "retryable"]
    # Not the phone number: nobody looks a person up by it without their OTP.
    search_fields = ["public_id", "provider_id", "dedupe_key"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "public_id",
        "channel",
        "masked_to",
        "language",
        "template",
        "text_on_record",
        "context",
        "status",
        "retryable",
        "attempts",
        "last_error",
        "created_at",
        "last_attempt_at",
        "sent_at",
        "expires_at",
        "transport",
        "provider_id",
        "dedupe_key",
    )

    @admin.display(description=_("recipient"))
    def masked_to(self, message: Message) -> str:
        return message.masked_recipient()

    @admin.display(description=_("text"))
    def text_on_record(self, message: Message) -> str:
        kind = KINDS.get(message.template)
        if kind is None or not kind.secrets:
            return message.body
        # Until it is sent, the body still holds the secret (an OTP): show the masked text.
        return render_text(
            channel=message.channel,
            template=message.template,
            language=message.language,
            context=message.context,
        )
