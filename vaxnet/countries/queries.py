"""Reads about countries."""

from django.conf import settings

from vaxnet.countries.models import Country


def active_country() -> Country | None:
    """Return the country this deployment serves, or None before its pack is loaded."""
    return Country.objects.filter(code=settings.VAXNET_COUNTRY).first()
