"""Template context every page needs: the country, and for staff the sections they may use."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from vaxnet.countries.queries import active_country


def site(request: HttpRequest) -> dict[str, Any]:
    """Add the active country (or None before its pack is loaded)."""
    return {"country": active_country()}


def staff_links(request: HttpRequest) -> dict[str, Any]:
    """Add which staff sections the signed-in user has a role for (read only when shown)."""

    def sections() -> frozenset[str]:
        from vaxnet.core.access import active_memberships
        from vaxnet.stock.reports import STOCK_ROLES
        from vaxnet.vaccination import roles

        # Each section and the roles its pages serve.
        served = {
            "day": roles.CHECKERS,
            "records": roles.CORRECTORS,
            "manage": roles.CLOSERS,
            "aefi": roles.AEFI_REPORTERS,
            "stock": STOCK_ROLES,
        }
        if request.user.is_authenticated and request.user.is_superuser:
            return frozenset(served)
        held = {membership.role for membership in active_memberships(request.user)}
        return frozenset(name for name, allowed in served.items() if held & set(allowed))

    return {"staff_sections": SimpleLazyObject(sections)}
