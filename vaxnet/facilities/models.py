"""Vaccination centres and the staff who work for them or for a region."""

from datetime import time
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vaxnet.core.i18n import NamedMixin
from vaxnet.core.ids import public_id
from vaxnet.countries.models import Country
from vaxnet.geo.models import Region
from vaxnet.vaccines.models import Vaccine


def _new_public_id() -> str:
    return public_id(10)


class Facility(NamedMixin, models.Model):
    """A vaccination centre: where it is, who runs it, when it is open, what it charges."""

    class Kind(models.TextChoices):
        PUBLIC = "public", _("Government (free)")
        PRIVATE = "private", _("Private (paid)")

    public_id = models.CharField(
        _("public id"), max_length=16, unique=True, default=_new_public_id, editable=False
    )
    country = models.ForeignKey(Country, verbose_name=_("country"), on_delete=models.PROTECT)
    code = models.CharField(_("code"), max_length=40)
    names = models.JSONField(_("names"), default=dict)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="facilities"
    )
    # Denormalised from the region, so that "all centres in this state" is one prefix match.
    region_path = models.CharField(_("region path"), max_length=400, db_index=True)
    postal_code = models.CharField(_("postal code"), max_length=12, blank=True, db_index=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        ordering = ["country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="facility_unique_code"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="facility_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="facility_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def is_open_at(self, moment: time) -> bool:
        """Return whether a local time of day falls within the opening hours."""
        if self.opens_at is None or self.closes_at is None:
            return True
        return self.opens_at <= moment < self.closes_at

    def fee_for(self, vaccine: Vaccine) -> Decimal:
        """Return what one dose of the vaccine costs here (public centres are free)."""
        if self.kind == self.Kind.PUBLIC:
            return Decimal("0")
        for fee in self.fees.all():
            if fee.vaccine_id == vaccine.pk:
                return fee.amount
        return Decimal("0")


class FacilityFee(models.Model):
    """What a private facility charges for one dose of a vaccine."""

    facility = models.ForeignKey(
        Facility, verbose_name=_("facility"), on_delete=models.CASCADE, related_name="fees"
    )
    vaccine = models.ForeignKey(Vaccine, verbose_name=_("vaccine"), on_delete=models.PROTECT)
    amount = models.DecimalField(_("fee"), max_digits=9, decimal_places=2)

    class Meta:
        verbose_name = _("fee")
        verbose_name_plural = _("fees")
        constraints = [
            models.UniqueConstraint(fields=["facility", "vaccine"], name="fee_unique_vaccine"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.facility.code} {self.vaccine.code} {self.amount}"


class Role(models.TextChoices):
    """What a staff member may do; facility roles are scoped to a facility, admins to a region."""

    VERIFIER = "verifier", _("Verifier")
    VACCINATOR = "vaccinator", _("Vaccinator")
    FACILITY_MANAGER = "facility_manager", _("Facility manager")
    STORE_KEEPER = "store_keeper", _("Store keeper")
    DISTRICT_ADMIN = "district_admin", _("District administrator")
    STATE_ADMIN = "state_admin", _("State administrator")
    NATIONAL_ADMIN = "national_admin", _("National administrator")


FACILITY_ROLES = frozenset({Role.VERIFIER, Role.VACCINATOR, Role.FACILITY_MANAGER})
REGION_ROLES = frozenset({Role.DISTRICT_ADMIN, Role.STATE_ADMIN, Role.NATIONAL_ADMIN})
# Store keepers run a facility's store or a region's (district, state, national) store.


class StaffMembership(models.Model):
    """A staff member's role within a scope: one facility, or a region and all below it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    facility = models.ForeignKey(
        Facility,
        verbose_name=_("facility"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [
            models.CheckConstraint(
                condition=(Q(facility__isnull=False) & Q(region__isnull=True))
                | (Q(facility__isnull=True) & Q(region__isnull=False)),
                name="membership_one_scope",
            ),
            models.CheckConstraint(
                condition=~Q(role__in=sorted(FACILITY_ROLES)) | Q(facility__isnull=False),
                name="membership_facility_role_needs_facility",
            ),
            models.CheckConstraint(
                condition=~Q(role__in=sorted(REGION_ROLES)) | Q(region__isnull=False),
                name="membership_admin_role_needs_region",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "facility"],
                condition=Q(active=True, facility__isnull=False),
                name="membership_unique_facility_role",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "region"],
                condition=Q(active=True, region__isnull=False),
                name="membership_unique_region_role",
            ),
        ]

    def __str__(self) -> str:
        scope = self.facility or self.region
        return f"{self.user} · {self.get_role_display()} · {scope}"

    @property
    def scope_path(self) -> str:
        """Return the region path this membership covers (a facility covers only itself)."""
        if self.facility is not None:
            return self.facility.region_path
        return self.region.path if self.region else ""
