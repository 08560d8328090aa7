"""Vaccination sessions: a facility offering a vaccine on a day, in time slots."""

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.core.ids import public_id
from vaxnet.facilities.models import Facility
from vaxnet.vaccines.eligibility import VaccineRule
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

    def vaccine_rule(self) -> VaccineRule:
        """Return the vaccine's schedule rule (kept in the process while the pack is unchanged)."""
        return self.vaccine.rule(pack_digest=self.facility.country.pack_digest)

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
        NOT_GIVEN = "not_given", _("Came, not vaccinated")

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
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        "core.User",
        verbose_name=_("checked in by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

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


def new_seed() -> str:
    """Return a new draw seed: 32 random bytes in hex."""
    return secrets.token_hex(32)


class Draw(models.Model):
    """The fair draw that shares a session's online places among the requests of its window.

    The seed is drawn when the row is made, before or at the latest with the first entry, and
    only its SHA-256 (`seed_commitment`) is shown until the draw is done; then the seed and
    the hash of the entry list are published so that anyone can re-run it (docs/fair-release.md).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Taking entries")
        DONE = "done", _("Drawn")

    session = models.OneToOneField(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="draw"
    )
    closes_at = models.DateTimeField(_("window closes at"))
    # 32 random bytes in hex; the service stores SHA-256(seed bytes) beside it as the commitment.
    seed = models.CharField(_("seed"), max_length=64, default=new_seed, editable=False)
    seed_commitment = models.CharField(_("seed commitment"), max_length=64, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    entries_hash = models.CharField(_("entry list hash"), max_length=64, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta:
        verbose_name = _("fair draw")
        verbose_name_plural = _("fair draws")
        ordering = ["closes_at", "id"]
        indexes = [models.Index(fields=["status", "closes_at"], name="draw_status_closes")]

    def __str__(self) -> str:
        return f"{self.session} {self.get_status_display()}"

    def is_done(self) -> bool:
        """Return whether the draw has been made and its seed may be published."""
        return self.status == self.Status.DONE

    def published(self) -> dict[str, Any]:
        """Return what may be made public now: the seed only once the draw is done."""
        record: dict[str, Any] = {
            "session": self.session.public_id,
            "closes_at": self.closes_at.isoformat(),
            "seed_commitment": self.seed_commitment,
            "status": self.status,
        }
        if self.is_done():
            record |= {"seed": self.seed, "entries_hash": self.entries_hash, **self.result}
        return record


class DrawEntry(models.Model):
    """A booking request made during a session's fair window: a ticket in its draw."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting for the draw")
        WON = "won", _("Won a place")
        LOST = "lost", _("No place this time")
        ALREADY_BOOKED = "already_booked", _("Already booked elsewhere")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    draw = models.ForeignKey(
        Draw, verbose_name=_("draw"), on_delete=models.PROTECT, related_name="entries"
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="draw_entries"
    )
    slot = models.ForeignKey(
        Slot, verbose_name=_("preferred time slot"), on_delete=models.PROTECT, related_name="+"
    )
    beneficiary = models.ForeignKey(
        "people.Beneficiary",
        verbose_name=_("beneficiary"),
        on_delete=models.PROTECT,
        related_name="draw_entries",
    )
    dose_number = models.PositiveSmallIntegerField(_("dose number"))
    entered_at = models.DateTimeField(_("entered at"))
    join_waitlist = models.BooleanField(_("join the waiting list if not drawn"), default=False)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.PENDING
    )
    appointment = models.OneToOneField(
        Appointment,
        verbose_name=_("appointment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="draw_entry",
    )

    class Meta:
        verbose_name = _("draw entry")
        verbose_name_plural = _("draw entries")
        ordering = ["draw", "entered_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "beneficiary", "dose_number"], name="draw_entry_one_per_dose"
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_outcome_display()}"


class WaitlistEntry(models.Model):
    """A beneficiary waiting for a place that matches their preferences to free up."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a place")
        BOOKED = "booked", _("Booked")
        LAPSED = "lapsed", _("Offer not taken")
        CANCELLED = "cancelled", _("Left the list")

    ACTIVE = (Status.WAITING, Status.OFFERED)

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    beneficiary = models.ForeignKey(
        "people.Beneficiary",
        verbose_name=_("beneficiary"),
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
    )
    # Preferences: every one given must match; postal codes and region are alternatives.
    postal_codes = models.JSONField(_("postal codes"), default=list, blank=True)
    region_path = models.CharField(_("region path"), max_length=400, blank=True)
    vaccine = models.ForeignKey(
        Vaccine, verbose_name=_("vaccine"), null=True, blank=True, on_delete=models.PROTECT
    )
    dose_number = models.PositiveSmallIntegerField(_("dose number"), null=True, blank=True)
    date_from = models.DateField(_("from date"))
    date_to = models.DateField(_("until date"))
    created_at = models.DateTimeField(_("created at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )

    class Meta:
        verbose_name = _("waiting list entry")
        verbose_name_plural = _("waiting list entries")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "date_to"], name="waitlist_status_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_active_per_beneficiary",
            ),
            models.CheckConstraint(
                condition=Q(date_to__gte=F("date_from")), name="waitlist_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_status_display()}"

    def matches_place(self, facility: Facility) -> bool:
        """Return whether a centre lies where this entry wants to be vaccinated."""
        if not self.postal_codes and not self.region_path:
            return True
        if facility.postal_code and facility.postal_code in self.postal_codes:
            return True
        # Region paths run "/country/state/district/": a subtree is one prefix.
        return bool(self.region_path) and facility.region_path.startswith(self.region_path)


class WaitlistOffer(models.Model):
    """A place held for a waitlisted beneficiary for a few minutes, booked if they accept."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        LAPSED = "lapsed", _("Lapsed")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    entry = models.ForeignKey(
        WaitlistEntry,
        verbose_name=_("waiting list entry"),
        on_delete=models.PROTECT,
        related_name="offers",
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.PROTECT, related_name="+"
    )
    slot = models.ForeignKey(
        Slot, verbose_name=_("time slot"), on_delete=models.PROTECT, related_name="+"
    )
    dose_number = models.PositiveSmallIntegerField(_("dose number"))
    created_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    appointment = models.OneToOneField(
        Appointment,
        verbose_name=_("appointment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waitlist_offer",
    )

    class Meta:
        verbose_name = _("waiting list offer")
        verbose_name_plural = _("waiting list offers")
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="offer_status_expires")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_status_display()}"

    def is_expired(self, at: datetime) -> bool:
        """Return whether the offer can no longer be accepted at a moment."""
        return at >= self.expires_at
