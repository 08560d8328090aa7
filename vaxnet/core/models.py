"""Shared kernel data: staff users and the audit log."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A staff member or administrator; citizens sign in with a mobile OTP instead."""

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")


class AuditEvent(models.Model):
    """One write (or a staff read of a person's record): who, what, which object, when, where."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("actor label"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=64)
    ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type}:{self.object_id}"


class StaffSecurity(models.Model):
    """A staff user's second factor: the sealed TOTP secret, whether it is on, its last step."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="security",
    )
    # Sealed with keys derived from SECRET_KEY (vaxnet.core.totp.seal): the server must read
    # it to check codes, so it cannot be hashed, but a database copy alone does not reveal it.
    # While totp_enabled is off it holds an enrolment not confirmed yet.
    totp_secret = models.CharField(_("sealed TOTP secret"), max_length=200, blank=True)
    totp_enabled = models.BooleanField(_("TOTP enabled"), default=False)
    totp_enabled_at = models.DateTimeField(_("TOTP enabled at"), null=True, blank=True)
    # The time step of the last code accepted: a code is accepted only for a later step, so
    # a code seen over a shoulder or in a log cannot be used again.
    totp_last_step = models.BigIntegerField(_("last TOTP step used"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff security")
        verbose_name_plural = _("staff security")

    def __str__(self) -> str:
        return str(self.user_id)


class StaffSignInThrottle(models.Model):
    """Failed staff sign-ins for one user name, existing or not, and the lock they led to."""

    # Case-folded, and kept for names no user has as well: a lock answers alike either way.
    username = models.CharField(_("user name"), max_length=150, unique=True)
    failures = models.PositiveIntegerField(_("failures in the window"), default=0)
    window_started_at = models.DateTimeField(_("window started at"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff sign-in throttle")
        verbose_name_plural = _("staff sign-in throttles")

    def __str__(self) -> str:
        return self.username
