"""Countries and their identity documents, as loaded from a country pack."""

import re
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from vaxnet.core.checksums import luhn_valid, verhoeff_valid
from vaxnet.core.errors import DomainError
from vaxnet.core.i18n import NamedMixin, localized


class Country(NamedMixin, models.Model):
    """A country served by this deployment, with the rules its pack sets."""

    code = models.CharField(_("code"), max_length=8, unique=True)
    names = models.JSONField(_("names"), default=dict)
    timezone = models.CharField(_("time zone"), max_length=64)
    languages = models.JSONField(_("languages"), default=list)
    phone_region = models.CharField(_("phone region"), max_length=2)
    currency = models.CharField(_("currency"), max_length=3)
    config = models.JSONField(_("pack settings"), default=dict)
    pack_digest = models.CharField(_("pack digest"), max_length=64, blank=True)
    loaded_at = models.DateTimeField(_("loaded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("country")
        verbose_name_plural = _("countries")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def level_name(self, key: str) -> str:
        """Return the translated name of a region level, such as 'District'."""
        for level in self.config.get("levels", []):
            if level["key"] == key:
                return localized(level["name"])
        return key

    @property
    def region_select_label(self) -> str:
        """Return a label for choosing a region of the first two levels: 'State or district'."""
        levels = self.config.get("levels", [])
        if len(levels) < 2:
            return localized(levels[0]["name"]) if levels else str(_("Region"))
        first, second = localized(levels[0]["name"]), localized(levels[1]["name"])
        return _("{first} or {second}").format(first=first, second=second.lower())

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        """Return one value of a pack section, such as booking.fair_window_minutes."""
        return self.config.get(section, {}).get(key, default)

    @property
    def postal_code_label(self) -> str:
        """Return what this country calls a postal code, in the active language."""
        names = self.config.get("postal_code", {}).get("name") or {}
        return localized(names) if names else str(_("Postal code"))

    def postal_code_valid(self, code: str) -> bool:
        """Return whether a string is a well-formed postal code of this country."""
        pattern = self.config.get("postal_code", {}).get("pattern")
        return bool(pattern and re.fullmatch(pattern, code))


class IdDocumentType(NamedMixin, models.Model):
    """A kind of identity document a beneficiary can register with, with its format rules."""

    class Normalise(models.TextChoices):
        DIGITS = "digits", _("Digits only")
        UPPER = "upper", _("Upper-case letters and digits")
        NONE = "none", _("As typed")

    class Check(models.TextChoices):
        NONE = "none", _("None")
        VERHOEFF = "verhoeff", _("Verhoeff check digit")
        LUHN = "luhn", _("Luhn check digit")

    country = models.ForeignKey(
        Country, verbose_name=_("country"), on_delete=models.CASCADE, related_name="id_types"
    )
    code = models.CharField(_("code"), max_length=40)
    names = models.JSONField(_("names"), default=dict)
    normalise_mode = models.CharField(
        _("normalisation"), max_length=10, choices=Normalise.choices, default=Normalise.UPPER
    )
    pattern = models.CharField(_("pattern"), max_length=200)
    check_digit = models.CharField(
        _("check digit"), max_length=10, choices=Check.choices, default=Check.NONE
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("ID document type")
        verbose_name_plural = _("ID document types")
        ordering = ["country", "position"]
        constraints = [
            models.UniqueConstraint(fields=["country", "code"], name="id_type_unique_code")
        ]

    def __str__(self) -> str:
        return self.name

    def normalise(self, number: str) -> str:
        """Return the number as it is compared and stored: no spaces or hyphens, cased."""
        value = number.strip()
        if self.normalise_mode == self.Normalise.NONE:
            return value
        value = re.sub(r"[\s\-/.]", "", value).upper()
        return value

    def validate(self, number: str) -> str:
        """Return the normalised number, or refuse one that breaks the document's rules."""
        value = self.normalise(number)
        if not re.fullmatch(self.pattern, value):
            raise DomainError(
                "id_number_format",
                _("This is not a valid {document} number.").format(document=self.name),
                field="id_number",
            )
        if (self.check_digit == self.Check.VERHOEFF and not verhoeff_valid(value)) or (
            self.check_digit == self.Check.LUHN and not luhn_valid(value)
        ):
            raise DomainError(
                "id_number_check",
                _("This {document} number has a wrong check digit; please check it.").format(
                    document=self.name
                ),
                field="id_number",
            )
        return value
