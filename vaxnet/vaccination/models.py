"""The facility day: doses given, doses not given, adverse events, merges, offline batches."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vaxnet.booking.models import Appointment, Session
from vaxnet.core.ids import public_id
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccines.models import Vaccine


def _new_public_id() -> str:
    return public_id(12)


class Site(models.TextChoices):
    """Where on the body a dose was given."""

    LEFT_ARM = "left_arm", _("Left upper arm")
    RIGHT_ARM = "right_arm", _("Right upper arm")
    LEFT_THIGH = "left_thigh", _("Left thigh")
    RIGHT_THIGH = "right_thigh", _("Right thigh")
    ORAL = "oral", _("By mouth")
    NASAL = "nasal", _("Nose")
    OTHER = "other", pgettext_lazy("injection site", "Other")


class Vaccination(models.Model):
    """A dose given: an event that is never changed, only marked entered in error.

    A correction marks the wrong record with who, when and why (`error_*`) and, where a dose
    was given after all, adds a new record that `replaces` it. At most one valid record per
    person, disease and dose number exists, whatever the race (a partial unique index).
    """

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")

    class Source(models.TextChoices):
        ONLINE = "online", _("Recorded at the facility")
        OFFLINE = "offline", _("Synchronised from an offline device")
        CORRECTION = "correction", _("Made by a correction")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    # The id the recording device made; a replayed record finds its first copy by it.
    client_id = models.UUIDField(_("client id"), unique=True, default=uuid.uuid4)
    beneficiary = models.ForeignKey(
        Beneficiary,
        verbose_name=_("beneficiary"),
        on_delete=models.PROTECT,
        related_name="vaccinations",
    )
    vaccine = models.ForeignKey(Vaccine, verbose_name=_("vaccine"), on_delete=models.PROTECT)
    # Denormalised from the vaccine: the series a dose counts in, for the unique index.
    target = models.CharField(_("target disease"), max_length=40)
    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="vaccinations"
    )
    dose_number = models.PositiveSmallIntegerField(pgettext_lazy("dose", "dose number"))
    dose_kind = models.CharField(_("kind of dose"), max_length=10)
    given_at = models.DateTimeField(_("given at"))
    given_on = models.DateField(_("given on"))
    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.PROTECT, related_name="+"
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="vaccinations"
    )
    appointment = models.ForeignKey(
        Appointment,
        verbose_name=_("appointment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vaccinations",
    )
    vaccinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("vaccinator"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    site = models.CharField(_("site of injection"), max_length=12, choices=Site.choices)
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.ONLINE
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.VALID
    )
    replaces = models.ForeignKey(
        "self",
        verbose_name=_("replaces"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    error_reason = models.CharField(_("reason it is in error"), max_length=300, blank=True)
    error_at = models.DateTimeField(_("marked in error at"), null=True, blank=True)
    error_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked in error by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("vaccination")
        verbose_name_plural = _("vaccinations")
        ordering = ["given_at", "id"]
        indexes = [
            models.Index(fields=["beneficiary", "given_on"], name="vaccination_person_day"),
            models.Index(fields=["session", "status"], name="vaccination_session_status"),
            models.Index(fields=["facility", "given_on"], name="vaccination_facility_day"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "target", "dose_number"],
                condition=Q(status="valid"),
                name="vaccination_one_valid_per_dose",
            ),
            models.CheckConstraint(
                condition=Q(status="valid", error_at__isnull=True)
                | Q(status="entered_in_error", error_at__isnull=False),
                name="vaccination_error_marked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.vaccine_id} #{self.dose_number}"

    def is_valid(self) -> bool:
        """Return whether the record counts (it has not been marked entered in error)."""
        return self.status == self.Status.VALID


class NotGiven(models.Model):
    """A dose not given at a visit: the person refused, or the vaccinator deferred it."""

    class Kind(models.TextChoices):
        REFUSED = "refused", _("Refused by the person")
        DEFERRED = "deferred", _("Deferred by the vaccinator")

    class Reason(models.TextChoices):
        UNWELL = "unwell", _("Unwell or feverish today")
        ALLERGY = "allergy", _("Allergy to a vaccine component")
        PREGNANCY = "pregnancy", _("Pregnancy")
        RECENT_INFECTION = "recent_infection", _("Recent infection")
        CONTRAINDICATION = "contraindication", _("Other medical contraindication")
        NO_STOCK = "no_stock", _("No vaccine available")
        PERSONAL = "personal", _("Personal choice")
        OTHER = "other", pgettext_lazy("reason", "Other")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    client_id = models.UUIDField(_("client id"), unique=True, default=uuid.uuid4)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    until = models.DateField(_("deferred until"), null=True, blank=True)
    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name=_("beneficiary"), on_delete=models.PROTECT, related_name="+"
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="not_given"
    )
    appointment = models.ForeignKey(
        Appointment,
        verbose_name=_("appointment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    dose_number = models.PositiveSmallIntegerField(pgettext_lazy("dose", "dose number"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("dose not given")
        verbose_name_plural = _("doses not given")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_kind_display()}"


class Aefi(models.Model):
    """An adverse event following immunisation, with the WHO core variables and its follow-up."""

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        SEVERE = "severe", _("Severe")
        SERIOUS = "serious", _("Serious")

    class Outcome(models.TextChoices):
        RECOVERED = "recovered", _("Recovered")
        RECOVERING = "recovering", _("Recovering")
        NOT_RECOVERED = "not_recovered", _("Not recovered")
        SEQUELAE = "sequelae", _("Recovered with lasting effects")
        DIED = "died", _("Died")
        UNKNOWN = "unknown", _("Unknown")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Followed up")

    class ReporterKind(models.TextChoices):
        STAFF = "staff", _("Health worker")
        CITIZEN = "citizen", _("The person or their family")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name=_("beneficiary"), on_delete=models.PROTECT, related_name="aefis"
    )
    vaccination = models.ForeignKey(
        Vaccination,
        verbose_name=_("vaccination"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="aefis",
    )
    # The facility whose district is alerted: the one that gave the dose.
    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.PROTECT, related_name="+"
    )
    region_path = models.CharField(_("region path"), max_length=400, db_index=True)
    onset_at = models.DateTimeField(_("onset"))
    symptoms = models.JSONField(_("symptoms"), default=list)
    description = models.TextField(_("description"), blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    # The WHO seriousness criteria, for a serious event.
    criteria = models.JSONField(_("seriousness criteria"), default=list, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reporter_kind = models.CharField(_("reporter"), max_length=10, choices=ReporterKind.choices)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reporter_name = models.CharField(_("reporter's name"), max_length=100, blank=True)
    reporter_phone = models.CharField(_("reporter's phone"), max_length=16, blank=True)
    reported_at = models.DateTimeField(_("reported at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    follow_up = models.TextField(_("follow-up"), blank=True)
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("followed up by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    followed_up_at = models.DateTimeField(_("followed up at"), null=True, blank=True)

    class Meta:
        verbose_name = _("adverse event (AEFI)")
        verbose_name_plural = _("adverse events (AEFI)")
        ordering = ["-reported_at", "id"]
        indexes = [models.Index(fields=["status", "severity"], name="aefi_status_severity")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_severity_display()}"

    def is_open(self) -> bool:
        """Return whether the event still waits for its follow-up."""
        return self.status == self.Status.OPEN


class BeneficiaryMerge(models.Model):
    """One person registered twice, merged: the duplicate's doses count for the kept record.

    Nothing is moved: the duplicate points at the kept beneficiary (`merged_into`) and the
    dose history reads both, so that undoing the merge gives back exactly what was there.
    """

    kept = models.ForeignKey(
        Beneficiary, verbose_name=_("kept record"), on_delete=models.PROTECT, related_name="+"
    )
    merged = models.ForeignKey(
        Beneficiary, verbose_name=_("duplicate"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"))
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undo_reason = models.CharField(_("reason for undoing"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("merge of duplicate beneficiaries")
        verbose_name_plural = _("merges of duplicate beneficiaries")
        ordering = ["-at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merged"],
                condition=Q(undone_at__isnull=True),
                name="merge_one_live_per_duplicate",
            ),
            models.CheckConstraint(condition=~Q(kept=models.F("merged")), name="merge_two_people"),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.kept_id}"


class SyncItem(models.Model):
    """What the server answered for one record of an offline device's batch, kept for replays."""

    class Result(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        DUPLICATE = "duplicate", _("Already recorded")
        CONFLICT = "conflict", _("Not recorded: conflict")

    client_id = models.UUIDField(_("client id"), unique=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("received at"))
    device_time = models.DateTimeField(_("device time"))
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    code = models.CharField(_("code"), max_length=40, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    # The record the item made, or the one it duplicates.
    record = models.CharField(_("record"), max_length=16, blank=True)
    dose_number = models.PositiveSmallIntegerField(_("dose number"), null=True, blank=True)

    class Meta:
        verbose_name = _("offline record received")
        verbose_name_plural = _("offline records received")
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.client_id} {self.result}"
