"""Certificates: one per person and disease at a time, re-issued as doses and data change."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vaxnet.core.checksums import luhn_mod_n_character
from vaxnet.core.ids import public_id
from vaxnet.people.models import Beneficiary


def new_uvci(prefix: str) -> str:
    """Return a new unique vaccination certificate identifier under a prefix like URN:UVCI:01:IN."""
    body = f"{prefix}:{public_id(16)}"
    # The optional check character of the UVCI guidelines, over the id's letters and digits.
    return f"{body}#{luhn_mod_n_character(body)}"


class Certificate(models.Model):
    """A person's vaccination certificate for one disease, as issued at one moment.

    A new dose issues a new certificate that supersedes the last one (which stays true and
    verifiable); a correction, a merge or a dose entered in error revokes the last one (it
    goes on the revocation list). At most one valid certificate per person and disease exists,
    whatever the race (a partial unique index). The record it holds is built, signed and kept
    on first use, from the records as they stand: any change to them issues a new certificate.
    """

    class Kind(models.TextChoices):
        PROVISIONAL = "provisional", _("Provisional")
        FINAL = "final", _("Final")
        BOOSTER = "booster", _("Booster")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        SUPERSEDED = "superseded", _("Superseded by a newer certificate")
        REVOKED = "revoked", _("Revoked")

    class RevokedFor(models.TextChoices):
        CORRECTION = "correction", _("Personal details corrected")
        DOSE_IN_ERROR = "dose_in_error", _("A dose was entered in error")
        MERGE = "merge", _("Records merged")
        KEY_COMPROMISE = "key_compromise", _("Signing key withdrawn")

    uvci = models.CharField(_("certificate id"), max_length=64, unique=True)
    beneficiary = models.ForeignKey(
        Beneficiary,
        verbose_name=_("beneficiary"),
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    target = models.CharField(_("target disease"), max_length=40)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    version = models.PositiveIntegerField(_("version"))
    doses = models.PositiveSmallIntegerField(_("doses covered"))
    issued_at = models.DateTimeField(_("issued at"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.VALID
    )
    ended_at = models.DateTimeField(_("superseded or revoked at"), null=True, blank=True)
    revoked_for = models.CharField(
        _("revoked because"), max_length=16, choices=RevokedFor.choices, blank=True
    )
    # Kept on first use: the record as signed, the QR payload of each format, the signing kids.
    record = models.JSONField(_("record as signed"), null=True, blank=True)
    payloads = models.JSONField(_("signed payloads"), default=dict, blank=True)
    kids = models.JSONField(_("signing key ids"), default=dict, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["beneficiary", "target", "version"]
        indexes = [
            models.Index(fields=["status", "ended_at"], name="certificate_status_ended"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "target"],
                condition=Q(status="valid"),
                name="certificate_one_valid",
            ),
            models.UniqueConstraint(
                fields=["beneficiary", "target", "version"], name="certificate_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(status="valid", ended_at__isnull=True)
                | (~Q(status="valid") & Q(ended_at__isnull=False)),
                name="certificate_end_marked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.uvci} v{self.version} {self.status}"

    def is_signed(self) -> bool:
        """Return whether the record and the payloads have been made and kept."""
        return self.signed_at is not None


class CertificateDocument(models.Model):
    """A certificate's PDF in one language and variant, rendered once and kept."""

    certificate = models.ForeignKey(
        Certificate,
        verbose_name=_("certificate"),
        on_delete=models.CASCADE,
        related_name="documents",
    )
    language = models.CharField(_("language"), max_length=10)
    variant = models.CharField(_("variant"), max_length=16)
    # The QR codes shown, as format names joined by "+", in a fixed order.
    codes = models.CharField(_("QR codes"), max_length=40)
    pdf = models.BinaryField(_("PDF"))
    rendered_at = models.DateTimeField(_("rendered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("certificate document")
        verbose_name_plural = _("certificate documents")
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "language", "variant", "codes"],
                name="certificate_document_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} {self.language} {self.variant} {self.codes}"


def _new_request_id() -> str:
    return public_id(12)


class CorrectionRequest(models.Model):
    """A citizen's request to correct a person's details, decided by a district admin."""

    class Field(models.TextChoices):
        NAME = "name", _("Name")
        BIRTH_DATE = "birth_date", _("Date of birth")
        SEX = "sex", _("Sex")
        ID_DOCUMENT = "id_document", _("ID document")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a decision")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_request_id, editable=False
    )
    beneficiary = models.ForeignKey(
        Beneficiary,
        verbose_name=_("beneficiary"),
        on_delete=models.PROTECT,
        related_name="correction_requests",
    )
    field = models.CharField(_("detail to correct"), max_length=16, choices=Field.choices)
    # What the person has now and what they ask for, as shown to the admin. An ID number is
    # never kept: only its keyed hash and last 4 characters (as for the beneficiary).
    current_value = models.CharField(_("current value"), max_length=100)
    requested_value = models.CharField(_("requested value"), max_length=100)
    requested_id_type = models.CharField(_("requested ID document type"), max_length=40, blank=True)
    requested_id_hash = models.CharField(_("requested ID number hash"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_note = models.CharField(_("note on the decision"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "requested_at"], name="correction_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "field"],
                condition=Q(status="pending"),
                name="correction_one_pending_per_field",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.field} {self.status}"
