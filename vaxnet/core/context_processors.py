"""Template context every page needs: the country and the languages it speaks."""

from typing import Any

from django.http import HttpRequest

from vaxnet.countries.queries import active_country


def site(request: HttpRequest) -> dict[str, Any]:
    """Add the active country (or None before its pack is loaded)."""
    return {"country": active_country()}
