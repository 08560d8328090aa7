"""The one place that decides which staff member may touch which facility or region.

Missing and not-yours answer alike (NotFound), so that probing ids teaches nothing.
"""

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from vaxnet.core.errors import NotFound
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility, StaffMembership
from vaxnet.geo.models import Region


def active_memberships(
    user: User | AnonymousUser, roles: Iterable[str] | None = None
) -> list[StaffMembership]:
    """Return the user's active memberships, optionally only for some roles."""
    if not user.is_authenticated or not user.is_active:
        return []
    query = StaffMembership.objects.filter(user=user, active=True).select_related(
        "facility", "region"
    )
    if roles is not None:
        query = query.filter(role__in=list(roles))
    return list(query)


def facilities_in_scope(
    user: User | AnonymousUser, roles: Iterable[str] | None = None
) -> "Q | None":
    """Return a filter for the facilities the user may act on (None: none at all)."""
    if user.is_authenticated and user.is_superuser:
        return Q()
    condition: Q | None = None
    for membership in active_memberships(user, roles):
        if membership.facility_id is not None:
            part = Q(pk=membership.facility_id)
        else:
            part = Q(region_path__startswith=membership.scope_path)
        condition = part if condition is None else condition | part
    return condition


def facility_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Facility:
    """Return the facility if the user holds one of the roles over it, else NotFound."""
    scope = facilities_in_scope(user, roles)
    if scope is None:
        raise NotFound()
    facility = (
        Facility.objects.filter(scope)
        .filter(public_id=public_id)
        .select_related("region", "country")
        .first()
    )
    if facility is None:
        raise NotFound()
    return facility


def region_for_staff(
    user: User | AnonymousUser, code: str, roles: Iterable[str] | None = None
) -> Region:
    """Return the region if it lies within a region the user administers, else NotFound."""
    region = Region.objects.filter(code=code).select_related("country").first()
    if region is None:
        raise NotFound()
    if user.is_authenticated and user.is_superuser:
        return region
    for membership in active_memberships(user, roles):
        if membership.region_id is not None and region.path.startswith(membership.scope_path):
            return region
    raise NotFound()
