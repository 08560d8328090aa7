"""The one place that decides which staff member may touch which facility or region.

Missing and not-yours answer alike (NotFound), so that probing ids teaches nothing.
"""

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from vaxnet.booking.models import Appointment, Session
from vaxnet.certificates.models import CorrectionRequest
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import NotFound
from vaxnet.core.models import User
from vaxnet.facilities.models import REGION_ROLES, Facility, Role, StaffMembership
from vaxnet.geo.models import Region
from vaxnet.people.models import Beneficiary
from vaxnet.vaccination.models import Aefi, Vaccination

PUBLIC_ID_MAX_LENGTH = 16


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
    user: User | AnonymousUser, roles: Iterable[str] | None = None, *, via: str = ""
) -> "Q | None":
    """Return a filter for the facilities the user may act on (None: none at all).

    With `via` (such as "session__facility__"), the filter applies to the rows that lead to a
    facility by that path, joined in the same query rather than through a subquery.
    """
    if user.is_authenticated and user.is_superuser:
        return Q()
    condition: Q | None = None
    for membership in active_memberships(user, roles):
        if membership.facility_id is not None:
            part = Q(**{f"{via}pk" if via else "pk": membership.facility_id})
        else:
            part = Q(**{f"{via}region_path__startswith": membership.scope_path})
        condition = part if condition is None else condition | part
    return condition


def roles_at_facility(user: User | AnonymousUser, facility: Facility) -> frozenset[str]:
    """Return the roles the user holds over the facility (every role for a superuser)."""
    if user.is_authenticated and user.is_superuser:
        return frozenset(Role.values)
    return frozenset(
        membership.role
        for membership in active_memberships(user)
        if membership.facility_id == facility.pk
        or (
            membership.facility_id is None
            and facility.region_path.startswith(membership.scope_path)
        )
    )


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


def _facilities(user: User | AnonymousUser, roles: Iterable[str] | None) -> QuerySet[Facility]:
    """Return the facilities the user holds one of the roles over (none: an empty set)."""
    scope = facilities_in_scope(user, roles)
    if scope is None:
        return Facility.objects.none()
    return Facility.objects.filter(scope)


def _public_id_ok(public_id: str) -> bool:
    return bool(public_id) and len(public_id) <= PUBLIC_ID_MAX_LENGTH and public_id.isalnum()


def session_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Session:
    """Return the session if it is held at a facility the user holds a role over, else NotFound."""

    public_id = str(public_id).strip()
    if not _public_id_ok(public_id):
        raise NotFound()
    session = (
        Session.objects.filter(public_id=public_id)
        .filter(facility__in=_facilities(user, roles))
        .select_related("facility__region", "facility__country", "vaccine")
        .first()
    )
    if session is None:
        raise NotFound()
    return session


def appointment_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Appointment:
    """Return the appointment if its session is at a facility in the user's scope, else NotFound."""

    public_id = str(public_id).strip()
    if not _public_id_ok(public_id):
        raise NotFound()
    scope = facilities_in_scope(user, roles, via="session__facility__")
    if scope is None:
        raise NotFound()
    # Every write of the facility day starts here: the scope is a condition on the facility
    # already joined, and the person's country is the facility's, so that the statement
    # joins few tables (planning a wide join costs more than running it).
    appointment = (
        Appointment.objects.filter(scope, public_id=public_id)
        .select_related(
            "beneficiary__id_type",
            "beneficiary__account",
            "session__facility__country",
            "session__vaccine",
            "slot",
        )
        .order_by()
        .first()
    )
    if appointment is None:
        raise NotFound()
    facility = appointment.session.facility
    if appointment.beneficiary.country_id == facility.country_id:
        appointment.beneficiary.country = facility.country
    return appointment


def vaccination_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Vaccination:
    """Return the dose record if it was given at a facility in the user's scope, else NotFound."""

    public_id = str(public_id).strip()
    if not _public_id_ok(public_id):
        raise NotFound()
    vaccination = (
        Vaccination.objects.filter(public_id=public_id)
        .filter(facility__in=_facilities(user, roles))
        .select_related("beneficiary", "vaccine", "batch", "session__facility", "facility")
        .first()
    )
    if vaccination is None:
        raise NotFound()
    return vaccination


def beneficiary_for_staff(
    user: User | AnonymousUser, reference: str, roles: Iterable[str] | None = None
) -> Beneficiary:
    """Return the person if they have an appointment or a dose at a facility in scope.

    Staff see a person through the care given in their scope, never by searching the country,
    and every such read is in the audit log (who read whose record, when, from where).
    """
    from vaxnet.people.models import Beneficiary

    reference = str(reference).strip()
    if not reference.isdigit() or len(reference) > PUBLIC_ID_MAX_LENGTH:
        raise NotFound()
    facilities = _facilities(user, roles)
    beneficiary = (
        Beneficiary.objects.filter(reference=reference)
        .filter(
            Exists(
                Appointment.objects.filter(
                    beneficiary=OuterRef("pk"), session__facility__in=facilities
                )
            )
            | Exists(
                Vaccination.objects.filter(beneficiary=OuterRef("pk"), facility__in=facilities)
            )
        )
        .select_related("id_type", "account", "country", "merged_into")
        .first()
    )
    if beneficiary is None:
        raise NotFound()
    audit_record(
        actor=user if isinstance(user, User) else None,
        action="beneficiary.read",
        obj=beneficiary,
        data={"reference": beneficiary.reference},
    )
    return beneficiary


def aefi_for_staff(
    user: User | AnonymousUser, public_id: str, roles: Iterable[str] | None = None
) -> Aefi:
    """Return the adverse event if it was reported at a facility in scope, else NotFound."""

    public_id = str(public_id).strip()
    if not _public_id_ok(public_id):
        raise NotFound()
    aefi = (
        Aefi.objects.filter(public_id=public_id)
        .filter(facility__in=_facilities(user, roles))
        .select_related("beneficiary", "vaccination__vaccine", "facility")
        .first()
    )
    if aefi is None:
        raise NotFound()
    return aefi


def valid_doses_of(beneficiary_id: int | OuterRef, facilities: Q | None = None) -> Exists:
    """Return a test for a valid dose of the person or a merged duplicate, optionally filtered."""
    doses = Vaccination.objects.filter(
        Q(beneficiary_id=beneficiary_id) | Q(beneficiary__merged_into_id=beneficiary_id),
        status=Vaccination.Status.VALID,
    )
    if facilities is not None:
        doses = doses.filter(facilities)
    return Exists(doses)


def correction_scope(user: User | AnonymousUser) -> Q | None:
    """Return a filter for the correction requests the user may decide (None: none at all)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Q()
    countries: list[int] = []
    regions: Q | None = None
    for membership in active_memberships(user, REGION_ROLES):
        region = membership.region
        if region is None:
            continue
        if region.parent_id is None:
            countries.append(region.country_id)
            continue
        part = Q(facility__region_path__startswith=region.path)
        regions = part if regions is None else regions | part
    condition: Q | None = None
    if countries:
        condition = Q(beneficiary__country_id__in=countries)
    if regions is not None:
        vaccinated_here = Q(valid_doses_of(OuterRef("beneficiary_id"), regions))
        condition = vaccinated_here if condition is None else condition | vaccinated_here
    return condition


def correction_for_staff(user: User | AnonymousUser, public_id: str) -> CorrectionRequest:
    """Return the correction request if the user may decide it, else NotFound.

    The rule (which administrators decide whose requests) is `correction_scope`; the read
    of the person's details is in the audit log.
    """
    public_id = str(public_id).strip()
    if not _public_id_ok(public_id):
        raise NotFound()
    scope = correction_scope(user)
    if scope is None:
        raise NotFound()
    request = (
        CorrectionRequest.objects.filter(scope, public_id=public_id)
        .select_related("beneficiary__id_type", "beneficiary__account", "beneficiary__country")
        .select_related("decided_by")
        .first()
    )
    if request is None:
        raise NotFound()
    audit_record(
        actor=user if isinstance(user, User) else None,
        action="beneficiary.read",
        obj=request.beneficiary,
        data={"reference": request.beneficiary.reference, "correction": request.public_id},
    )
    return request
