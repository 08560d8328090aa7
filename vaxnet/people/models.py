"""Citizens: accounts that sign in with a mobile OTP, and the people each account registers."""

import secrets
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.core.checksums import verhoeff_digit
from vaxnet.core.ids import public_id
from vaxnet.countries.models import Country, IdDocumentType
from vaxnet.vaccines.eligibility import Person

OTP_VALID_FOR = timedelta(minutes=3)
OTP_MAX_ATTEMPTS = 5
EARLIEST_BIRTH_YEAR = 1900
REFERENCE_LENGTH = 14


def mask_phone(phone: str) -> str:
    """Return an E.164 number with all but its country code and last 4 digits hidden."""
    if len(phone) <= 7:
        return "X" * len(phone)
    return phone[:3] + "X" * (len(phone) - 7) + phone[-4:]


def new_txn() -> str:
    """Return a new opaque id for an OTP challenge."""
    return public_id(20)


def new_reference() -> str:
    """Return a new beneficiary reference: 13 random digits and a Verhoeff check digit."""
    # The first digit is never 0, so that spreadsheets do not eat it.
    body = str(1 + secrets.randbelow(9)) + f"{secrets.randbelow(10**12):012d}"
    return body + verhoeff_digit(body)


class Account(models.Model):
    """A citizen's sign-in: one verified mobile number in one country."""

    country = models.ForeignKey(Country, verbose_name=_("country"), on_delete=models.PROTECT)
    phone = models.CharField(_("mobile number"), max_length=16)
    language = models.CharField(_("preferred language"), max_length=10)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_sign_in_at = models.DateTimeField(_("last signed in at"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("citizen account")
        verbose_name_plural = _("citizen accounts")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["country", "phone"], name="account_unique_phone")
        ]

    def __str__(self) -> str:
        return self.masked_phone()

    def masked_phone(self) -> str:
        """Return the mobile number with all but its last 4 digits hidden."""
        return mask_phone(self.phone)


class OtpChallenge(models.Model):
    """A one-time code sent to a mobile number: only its keyed hash is kept."""

    public_id = models.CharField(
        _("transaction id"), max_length=24, unique=True, default=new_txn, editable=False
    )
    country = models.ForeignKey(Country, verbose_name=_("country"), on_delete=models.PROTECT)
    phone = models.CharField(_("mobile number"), max_length=16)
    language = models.CharField(_("language"), max_length=10)
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("maximum attempts"), default=OTP_MAX_ATTEMPTS)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    client = models.CharField(_("client"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("OTP challenge")
        verbose_name_plural = _("OTP challenges")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"], name="otp_expires_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(attempts__lte=models.F("max_attempts")), name="otp_attempts_within_max"
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {mask_phone(self.phone)}"

    def is_expired(self, at: datetime | None = None) -> bool:
        """Return whether the code can no longer be used at a moment (default: now)."""
        return (at or timezone.now()) >= self.expires_at

    def is_locked(self) -> bool:
        """Return whether every allowed attempt has been spent."""
        return self.attempts >= self.max_attempts

    def is_used(self) -> bool:
        """Return whether the code has already signed someone in."""
        return self.verified_at is not None


class Sex(models.TextChoices):
    """A beneficiary's sex, as recorded on the vaccination certificate."""

    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    OTHER = "other", _("Other")


class Beneficiary(models.Model):
    """A person an account registers for vaccination, identified by one ID document."""

    reference = models.CharField(
        _("reference number"), max_length=REFERENCE_LENGTH, unique=True, editable=False
    )
    # None for a person registered at a facility without a mobile number.
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="beneficiaries",
    )
    country = models.ForeignKey(Country, verbose_name=_("country"), on_delete=models.PROTECT)
    name = models.CharField(_("name"), max_length=100)
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices)
    birth_year = models.PositiveSmallIntegerField(_("year of birth"))
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    id_type = models.ForeignKey(
        IdDocumentType, verbose_name=_("ID document type"), on_delete=models.PROTECT
    )
    # HMAC-SHA256 of "<country>:<id type>:<normalised number>": equal documents collide,
    # the number itself cannot be read back (see people.crypto).
    id_hash = models.CharField(_("ID number hash"), max_length=64)
    id_last4 = models.CharField(_("ID number, last 4 characters"), max_length=4)
    # Set while this record is merged, as a duplicate, into another person's.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("beneficiary")
        verbose_name_plural = _("beneficiaries")
        ordering = ["account", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["country", "id_type", "id_hash"], name="beneficiary_unique_id"
            ),
            models.CheckConstraint(
                condition=Q(birth_year__gte=EARLIEST_BIRTH_YEAR), name="beneficiary_birth_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"

    def masked_id(self) -> str:
        """Return the ID number as it may be shown: only its last 4 characters."""
        # The same mask whatever the document, so that it does not give away the length.
        return f"XXXX XXXX {self.id_last4}"

    def person(self) -> Person:
        """Return what the eligibility engine needs to know about this person."""
        return Person(birth_date=self.birth_date, birth_year=self.birth_year)

    def has_doses(self) -> bool:
        """Return whether any valid dose has been recorded for this person."""
        # Every "locked after the first dose" rule asks here.
        return self.vaccinations.filter(status="valid").exists()
