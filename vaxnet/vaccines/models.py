"""Vaccine products and their schedules, as loaded from a country pack."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vaxnet.core.i18n import localized
from vaxnet.countries.models import Country
from vaxnet.vaccines import eligibility
from vaxnet.vaccines.durations import parse_duration

# Vaccine rules kept in the process: (vaccine id, country id, code, pack digest) -> rule.
# A rule is immutable; a plain dict is safe across threads (the worst case is a rule built twice).
_RULES: dict[tuple[int, int, str, str], eligibility.VaccineRule] = {}
_RULES_KEPT = 256


class Vaccine(models.Model):
    """A vaccine product offered in a country, with its age window and series rules."""

    class Kind(models.TextChoices):
        CAMPAIGN = "campaign", _("Campaign")
        ROUTINE = "routine", _("Routine immunisation")

    country = models.ForeignKey(
        Country, verbose_name=_("country"), on_delete=models.CASCADE, related_name="vaccines"
    )
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    names = models.JSONField(_("names in other languages"), default=dict, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=120, blank=True)
    target = models.CharField(_("target disease"), max_length=40)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    min_age = models.CharField(_("minimum age"), max_length=10, blank=True)
    max_age = models.CharField(_("maximum age"), max_length=10, blank=True)
    doses_per_vial = models.PositiveSmallIntegerField(_("doses per vial"), default=1)
    mix_with = models.JSONField(_("mixes with"), default=list, blank=True)
    # Standard codes for certificates, from the pack: eu_tg, eu_vp, eu_mp, eu_ma, cvx, snomed.
    codes = models.JSONField(_("standard codes"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("vaccine")
        verbose_name_plural = _("vaccines")
        ordering = ["country", "code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="vaccine_unique_code")
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """Return the product name in the active language (brand names rarely change)."""
        return localized(self.names) if self.names else self.name

    def rule(self, *, pack_digest: str = "") -> eligibility.VaccineRule:
        """Return the pure schedule the eligibility engine works with.

        Given the digest of the country's pack (vaccines and their doses change only when a
        pack is loaded, which changes the digest), the rule is kept in the process and its
        doses are not read again.
        """
        key = (self.pk, self.country_id, self.code, pack_digest)
        if pack_digest and key in _RULES:
            return _RULES[key]
        rule = eligibility.VaccineRule(
            code=self.code,
            target=self.target,
            min_age=parse_duration(self.min_age) if self.min_age else None,
            max_age=parse_duration(self.max_age) if self.max_age else None,
            mix_with=frozenset(self.mix_with),
            doses=tuple(dose.rule() for dose in self.doses.all()),
        )
        if pack_digest:
            if len(_RULES) >= _RULES_KEPT:
                _RULES.clear()  # a new pack per country: start again rather than grow
            _RULES[key] = rule
        return rule


class VaccineDose(models.Model):
    """One dose of a vaccine's schedule: when it may be given."""

    class Kind(models.TextChoices):
        PRIMARY = "primary", pgettext_lazy("dose kind", "Primary")
        BOOSTER = "booster", pgettext_lazy("dose kind", "Booster")
        PRECAUTION = "precaution", pgettext_lazy("dose kind", "Precaution")

    vaccine = models.ForeignKey(
        Vaccine, verbose_name=_("vaccine"), on_delete=models.CASCADE, related_name="doses"
    )
    number = models.PositiveSmallIntegerField(pgettext_lazy("dose", "number"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PRIMARY)
    min_interval = models.CharField(_("minimum interval"), max_length=10, blank=True)
    max_interval = models.CharField(_("maximum interval"), max_length=10, blank=True)
    min_age = models.CharField(_("minimum age"), max_length=10, blank=True)
    max_age = models.CharField(_("maximum age"), max_length=10, blank=True)
    same_product = models.BooleanField(_("same product only"), default=False)

    class Meta:
        verbose_name = pgettext_lazy("vaccine", "dose")
        verbose_name_plural = pgettext_lazy("vaccine", "doses")
        ordering = ["vaccine", "number"]
        constraints = [
            models.UniqueConstraint(fields=["vaccine", "number"], name="dose_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.vaccine.code} #{self.number}"

    def rule(self) -> eligibility.DoseRule:
        """Return this dose as the eligibility engine sees it."""
        return eligibility.DoseRule(
            number=self.number,
            kind=self.kind,
            min_interval=parse_duration(self.min_interval) if self.min_interval else None,
            max_interval=parse_duration(self.max_interval) if self.max_interval else None,
            min_age=parse_duration(self.min_age) if self.min_age else None,
            max_age=parse_duration(self.max_age) if self.max_age else None,
            same_product=self.same_product,
        )
