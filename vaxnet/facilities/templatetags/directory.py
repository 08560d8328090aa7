"""The region picker: 150-odd options, rendered once per pack version and language."""

from functools import lru_cache

from django import template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from vaxnet.countries.models import Country
from vaxnet.facilities.queries import region_choices

register = template.Library()


@lru_cache(maxsize=64)
def _options(country_id: int, pack_digest: str, language: str) -> str:
    # The pack digest is part of the key, so reloading a changed pack renders anew.
    country = Country.objects.get(pk=country_id)
    with translation.override(language):
        return render_to_string(
            "facilities/_region_options.html", {"region_choices": region_choices(country)}
        )


@register.simple_tag
def region_options(country: Country, selected: str = "") -> SafeString:
    """Return the <option>s of the region picker with the chosen region selected."""
    html = _options(country.pk, country.pack_digest, translation.get_language() or "")
    if selected:
        value = f'value="{escape(selected)}"'
        html = html.replace(value, f"{value} selected", 1)
    return mark_safe(html)  # noqa: S308 - rendered by our own template, names escaped there
