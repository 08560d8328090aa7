"""What the v1 API keeps: bearer tokens (hashed) and idempotent requests (their answers)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from vaxnet.core.ids import public_id
from vaxnet.people.models import Account


def _new_token_id() -> str:
    return public_id(24)


class ApiToken(models.Model):
    """A bearer token of the v1 API: a random id, signed with the secret key when handed out.

    Only the id is kept, so the table alone cannot make a token; the row gives expiry and
    revocation.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    public_id = models.CharField(
        _("token id"), max_length=24, unique=True, default=_new_token_id, editable=False
    )
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    # Spelled out so that type checks pass before and after "vaxnet.api" is an installed app.
    objects: "models.Manager[ApiToken]" = models.Manager()
    account_id: int

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"], name="api_token_expires_at")]

    def __str__(self) -> str:
        return f"{self.account} {self.created_at:%Y-%m-%d %H:%M}"


class IdempotentRequest(models.Model):
    """A POST made with an Idempotency-Key: what was asked and the answer given, encrypted."""

    # "account:<pk>" for signed-in callers, "client:<address>" for the sign-in endpoints.
    scope = models.CharField(_("scope"), max_length=120)
    key = models.CharField(_("idempotency key"), max_length=100)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    # The JSON answer; a bearer token in it is kept as its id and signed again on replay.
    body = models.TextField(_("answer"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects: "models.Manager[IdempotentRequest]" = models.Manager()

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="idempotent_created_at")]
        constraints = [
            # The whole of the race safety: two requests with one key cannot both insert.
            models.UniqueConstraint(fields=["scope", "key"], name="idempotent_unique_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
