"""Vaccination sessions: a facility offering a vaccine on a day, in time slots."""

from datetime import datetime, timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.core.ids import public_id
from vaxnet.facilities.models import Facility
from vaxnet.vaccines.models import Vaccine


def _new_public_id() -> str:
    return public_id(12)


class Session(models.Model):
    """A facility offering one vaccine on one local date, with online and on-site capacity."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        CANCELLED = "cancelled", _("Cancelled")
        CLOSED = "closed", _("Closed")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.PROTECT, related_name="sessions"
    )
    date = models.DateField(_("date"))
    vaccine = models.ForeignKey(Vaccine, verbose_name=_("vaccine"), on_delete=models.PROTECT)
    min_age_years = models.PositiveSmallIntegerField(_("minimum age"), default=0)
    max_age_years = models.PositiveSmallIntegerField(_("maximum age"), null=True, blank=True)
    fee = models.DecimalField(_("fee"), max_digits=9, decimal_places=2, default=0)
    release_at = models.DateTimeField(_("opens for booking at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["date", "facility_id"]
        indexes = [models.Index(fields=["facility", "date"], name="session_facility_date")]

    def __str__(self) -> str:
        return f"{self.facility.code} {self.date} {self.vaccine.code}"

    def booking_refusal(self, now: datetime) -> str | None:
        """Return why online booking is closed at this moment (a refusal code), or None."""
        booking = self.facility.country.config.get("booking", {})
        today = timezone.localdate(now)
        if self.status != self.Status.PLANNED:
            return "session_closed"
        if self.date < today:
            return "session_over"
        if now < self.release_at:
            return "not_released"
        window = int(booking.get("fair_window_minutes", 0))
        if window and now < self.release_at + timedelta(minutes=window):
            return "fair_window_open"
        cutoff = int(booking.get("same_day_cutoff_hour", 24))
        if self.date == today and timezone.localtime(now).hour >= cutoff:
            return "same_day_closed"
        return None

    @property
    def dose_numbers(self) -> list[int]:
        """Return the dose numbers offered (uses prefetched doses when present)."""
        return sorted(dose.dose_number for dose in self.doses.all())

    @property
    def available_online(self) -> int:
        """Return how many online bookings are still possible, all doses together."""
        return sum(dose.available_online for dose in self.doses.all())


class SessionDose(models.Model):
    """The places a session sets aside for one dose number, online and on site."""

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="doses"
    )
    dose_number = models.PositiveSmallIntegerField(_("dose number"))
    capacity_online = models.PositiveIntegerField(_("online capacity"))
    capacity_onsite = models.PositiveIntegerField(_("on-site capacity"))
    booked_online = models.PositiveIntegerField(_("booked online"), default=0)
    booked_onsite = models.PositiveIntegerField(_("booked on site"), default=0)

    class Meta:
        verbose_name = _("session dose")
        verbose_name_plural = _("session doses")
        ordering = ["session", "dose_number"]
        constraints = [
            models.UniqueConstraint(fields=["session", "dose_number"], name="session_dose_unique"),
            # The last line of defence: no booking path can take more than the capacity.
            models.CheckConstraint(
                condition=Q(booked_online__lte=F("capacity_online")),
                name="session_dose_online_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(booked_onsite__lte=F("capacity_onsite")),
                name="session_dose_onsite_within_capacity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} #{self.dose_number}"

    @property
    def available_online(self) -> int:
        """Return how many more people can book this dose online."""
        return self.capacity_online - self.booked_online

    @property
    def available_onsite(self) -> int:
        """Return how many more people can be taken on site for this dose."""
        return self.capacity_onsite - self.booked_onsite


class Slot(models.Model):
    """A time window within a session, with its own share of the capacity."""

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="slots"
    )
    starts_at = models.TimeField(_("starts at"))
    ends_at = models.TimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("capacity"))
    booked = models.PositiveIntegerField(_("booked"), default=0)

    class Meta:
        verbose_name = _("time slot")
        verbose_name_plural = _("time slots")
        ordering = ["session", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="slot_within_capacity"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


class Appointment(models.Model):
    """A beneficiary's place in a session for one dose: booked online or taken on site."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        VACCINATED = "vaccinated", _("Vaccinated")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("Did not come")

    class Channel(models.TextChoices):
        ONLINE = "online", _("Booked online")
        ONSITE = "onsite", _("On site")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    beneficiary = models.ForeignKey(
        "people.Beneficiary",
        verbose_name=_("beneficiary"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="appointments"
    )
    slot = models.ForeignKey(
        Slot,
        verbose_name=_("time slot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    dose_number = models.PositiveSmallIntegerField(_("dose number"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.BOOKED
    )
    # Shown to the citizen and asked for by the verifier; not a secret against the database.
    security_code = models.CharField(_("security code"), max_length=4)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    LIVE = (Status.BOOKED, Status.CHECKED_IN)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["session", "status"], name="appointment_session_status")]
        constraints = [
            # At most one live appointment per beneficiary and dose, whatever the race.
            models.UniqueConstraint(
                fields=["beneficiary", "dose_number"],
                condition=Q(status__in=["booked", "checked_in"]),
                name="appointment_one_live_per_dose",
            ),
            models.CheckConstraint(
                condition=Q(channel="onsite") | Q(slot__isnull=False),
                name="appointment_online_has_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_status_display()}"

    def is_live(self) -> bool:
        """Return whether the appointment still holds a place."""
        return self.status in self.LIVE

    def is_cancellable(self) -> bool:
        """Return whether the citizen may still cancel or move it."""
        return self.status == self.Status.BOOKED
