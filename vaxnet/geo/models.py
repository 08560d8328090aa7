"""The administrative hierarchy, postal codes and population, as loaded from a country pack."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from vaxnet.core.i18n import NamedMixin
from vaxnet.countries.models import Country


class Region(NamedMixin, models.Model):
    """A node of a country's administrative tree: the country, a state, a district, …"""

    country = models.ForeignKey(
        Country, verbose_name=_("country"), on_delete=models.CASCADE, related_name="regions"
    )
    code = models.CharField(_("code"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    level = models.CharField(_("level"), max_length=30)
    depth = models.PositiveSmallIntegerField(_("depth"))
    number = models.PositiveIntegerField(_("number"))
    # "/IN/IN-TN/IN-TN-CHN/": the codes from the root, so a subtree is one prefix match.
    path = models.CharField(_("path"), max_length=400, db_index=True)
    names = models.JSONField(_("names"), default=dict)
    # The headquarters town or an approximate centre, from the pack: for ordering by distance.
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["depth", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "number"], name="region_unique_number"),
            # Both or neither; spelt out, because a CHECK whose value is NULL passes.
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(
                    latitude__isnull=False,
                    longitude__isnull=False,
                    latitude__gte=-90,
                    latitude__lte=90,
                    longitude__gte=-180,
                    longitude__lte=180,
                ),
                name="region_location_valid",
            ),
        ]
        indexes = [models.Index(fields=["country", "level"], name="region_level")]

    def __str__(self) -> str:
        return self.name

    def location(self) -> tuple[Decimal, Decimal] | None:
        """Return (latitude, longitude) of the headquarters, or None when the pack gives none."""
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude

    def contains(self, other: "Region") -> bool:
        """Return whether the other region is this one or lies below it."""
        return other.path.startswith(self.path)


class PostalCode(models.Model):
    """A postal code and the region it belongs to."""

    country = models.ForeignKey(Country, verbose_name=_("country"), on_delete=models.CASCADE)
    code = models.CharField(_("code"), max_length=12)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="postal_codes"
    )
    place = models.CharField(_("place"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("postal code")
        verbose_name_plural = _("postal codes")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="postal_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.place}".strip()


class Population(models.Model):
    """How many people of one age band and sex live in a region."""

    class Sex(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")
        OTHER = "other", _("Other")

    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.CASCADE, related_name="population"
    )
    age_band = models.CharField(_("age band"), max_length=10)
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices)
    count = models.PositiveBigIntegerField(_("people"))

    class Meta:
        verbose_name = _("population figure")
        verbose_name_plural = _("population figures")
        constraints = [
            models.UniqueConstraint(
                fields=["region", "age_band", "sex"], name="population_unique_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region.code} {self.age_band} {self.sex}: {self.count}"
