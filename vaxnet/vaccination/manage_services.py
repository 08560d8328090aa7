"""Managing a facility's staff: giving a user a role there, deactivating and reactivating it.

Facility managers manage the verifiers and vaccinators of their facility; district
administrators every facility role at the facilities of their district. Region roles are
given elsewhere, by whoever runs the country.
"""

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from vaxnet.core.access import active_memberships
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility, Role, StaffMembership

# The roles a facility manager hands out at their own facility.
MANAGER_GIVES = (Role.VERIFIER, Role.VACCINATOR)
# The roles a district administrator hands out at a facility of the district.
DISTRICT_GIVES = (Role.VERIFIER, Role.VACCINATOR, Role.FACILITY_MANAGER, Role.STORE_KEEPER)


def roles_managed(user: User | AnonymousUser, facility: Facility) -> list[str]:
    """Return the roles at the facility whose memberships the user may give and take back."""
    if user.is_authenticated and user.is_superuser:
        return list(DISTRICT_GIVES)
    roles: set[str] = set()
    for membership in active_memberships(user, (Role.FACILITY_MANAGER, Role.DISTRICT_ADMIN)):
        if membership.role == Role.FACILITY_MANAGER and membership.facility_id == facility.pk:
            roles.update(MANAGER_GIVES)
        elif membership.region_id is not None and facility.region_path.startswith(
            membership.scope_path
        ):
            roles.update(DISTRICT_GIVES)
    return [role for role in DISTRICT_GIVES if role in roles]


def _allowed(by: User, facility: Facility, role: str) -> None:
    if role not in roles_managed(by, facility):
        raise DomainError(
            "role_not_managed",
            _("You may not give or take back this role at this facility."),
            field="role",
            status=403,
        )


def membership_add(*, by: User, facility: Facility, username: str, role: str) -> StaffMembership:
    """Give an existing staff user a role at the facility (reactivating an old one)."""
    _allowed(by, facility, role)
    user = User.objects.filter(username=username.strip(), is_active=True).first()
    if user is None:
        raise DomainError(
            "unknown_user", _("No active staff user has this user name."), field="username"
        )
    with transaction.atomic():
        rows = StaffMembership.objects.select_for_update().filter(
            user=user, role=role, facility=facility
        )
        if any(row.active for row in rows):
            raise DomainError(
                "already_member",
                _("{name} already has this role here.").format(name=user.get_username()),
                field="username",
            )
        membership = rows.order_by("-created_at", "-pk").first()
        try:
            with transaction.atomic():
                if membership is not None:
                    membership.active = True
                    membership.save(update_fields=["active"])
                else:
                    membership = StaffMembership.objects.create(
                        user=user, role=role, facility=facility
                    )
        except IntegrityError:
            # Someone gave the same role at the same moment.
            raise DomainError(
                "already_member",
                _("{name} already has this role here.").format(name=user.get_username()),
                field="username",
            ) from None
        audit_record(
            actor=by,
            action="membership.add",
            obj=membership,
            data={"user": user.get_username(), "role": role, "facility": facility.code},
        )
    return membership


def membership_set_active(*, by: User, membership: StaffMembership, active: bool) -> None:
    """Deactivate a facility membership, or activate it again."""
    facility = membership.facility
    if facility is None:
        raise DomainError("role_not_managed", _("Region roles are not managed here."), status=403)
    _allowed(by, facility, membership.role)
    if membership.user_id == by.pk and not active:
        raise DomainError("own_membership", _("You cannot take back your own role."), status=403)
    with transaction.atomic():
        try:
            with transaction.atomic():
                changed = (
                    StaffMembership.objects.filter(pk=membership.pk)
                    .exclude(active=active)
                    .update(active=active)
                )
        except IntegrityError:
            raise DomainError(
                "already_member", _("This person already has this role here again.")
            ) from None
        if changed:
            audit_record(
                actor=by,
                action="membership.activate" if active else "membership.deactivate",
                obj=membership,
                data={
                    "user": membership.user.get_username(),
                    "role": membership.role,
                    "facility": facility.code,
                },
            )
    membership.active = active
