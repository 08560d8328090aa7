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
        from vaxnet.facilities.models import REGION_ROLES, Role

        roles = {membership.role for membership in active_memberships(request.user)}
        superuser = request.user.is_authenticated and request.user.is_superuser
        shown = set()
        if superuser or roles & {Role.VERIFIER, Role.VACCINATOR, Role.FACILITY_MANAGER}:
            shown.add("day")
        if superuser or roles & {Role.FACILITY_MANAGER, *REGION_ROLES}:
            shown |= {"records", "manage", "aefi"}
        if superuser or Role.STORE_KEEPER in roles or roles & REGION_ROLES:
            shown.add("stock")
        if roles & {Role.VACCINATOR, Role.VERIFIER}:
            shown.add("aefi")
        return frozenset(shown)

    return {"staff_sections": SimpleLazyObject(sections)}
