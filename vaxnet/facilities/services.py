"""Every write to facilities, fees and staff memberships."""

from datetime import time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.facilities.models import (
    FACILITY_ROLES,
    REGION_ROLES,
    Facility,
    FacilityFee,
    Role,
    StaffMembership,
)
from vaxnet.geo.models import Region
from vaxnet.vaccines.models import Vaccine


def facility_check(
    *,
    region: Region,
    postal_code: str,
    latitude: Decimal | None,
    longitude: Decimal | None,
    opens_at: time | None,
    closes_at: time | None,
) -> None:
    """Refuse a facility location or opening hours that cannot be right."""
    _check_location(region=region, postal_code=postal_code, latitude=latitude, longitude=longitude)
    _check_hours(opens_at, closes_at)


def _check_location(
    *, region: Region, postal_code: str, latitude: Decimal | None, longitude: Decimal | None
) -> None:
    if region.depth == 0:
        raise DomainError(
            "region_too_broad", _("Choose the district the facility is in."), field="region"
        )
    if postal_code and not region.country.postal_code_valid(postal_code):
        raise DomainError(
            "postal_code_format",
            _("This is not a valid {label}.").format(label=region.country.postal_code_label),
            field="postal_code",
        )
    if (latitude is None) != (longitude is None):
        raise DomainError(
            "location_incomplete",
            _("Give both latitude and longitude, or neither."),
            field="latitude",
        )
    if latitude is not None and not (-90 <= latitude <= 90):
        raise DomainError(
            "latitude_range", _("Latitude must be between -90 and 90."), field="latitude"
        )
    if longitude is not None and not (-180 <= longitude <= 180):
        raise DomainError(
            "longitude_range", _("Longitude must be between -180 and 180."), field="longitude"
        )


def _check_hours(opens_at: time | None, closes_at: time | None) -> None:
    if opens_at is not None and closes_at is not None and opens_at >= closes_at:
        raise DomainError(
            "hours_order", _("The opening time must be before the closing time."), field="opens_at"
        )


def facility_create(
    *,
    by: User | None,
    code: str,
    names: dict[str, str],
    kind: str,
    region: Region,
    postal_code: str = "",
    address: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    opens_at: time | None = None,
    closes_at: time | None = None,
    phone: str = "",
    public_id: str | None = None,
) -> Facility:
    """Register a new vaccination centre in a region."""
    if kind not in Facility.Kind.values:
        raise DomainError("facility_kind", _("Choose public or private."), field="kind")
    if not code.strip() or not any(n.strip() for n in names.values()):
        raise DomainError("facility_name", _("A facility needs a code and a name."), field="code")
    _check_location(region=region, postal_code=postal_code, latitude=latitude, longitude=longitude)
    _check_hours(opens_at, closes_at)
    facility = Facility(
        country=region.country,
        code=code.strip().upper(),
        names=names,
        kind=kind,
        region=region,
        region_path=region.path,
        postal_code=postal_code,
        address=address,
        latitude=latitude,
        longitude=longitude,
        opens_at=opens_at,
        closes_at=closes_at,
        phone=phone,
    )
    if public_id:
        facility.public_id = public_id
    try:
        with transaction.atomic():
            facility.save()
            audit_record(
                actor=by, action="facility.create", obj=facility, data={"code": facility.code}
            )
    except IntegrityError:
        raise DomainError(
            "facility_code_taken", _("Another facility already has this code."), field="code"
        ) from None
    return facility


def facility_update(
    *,
    by: User | None,
    facility: Facility,
    names: dict[str, str] | None = None,
    address: str | None = None,
    postal_code: str | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    opens_at: time | None = None,
    closes_at: time | None = None,
    phone: str | None = None,
    active: bool | None = None,
) -> Facility:
    """Change a facility's details; only the fields given change."""
    changes = {
        key: value
        for key, value in {
            "names": names,
            "address": address,
            "postal_code": postal_code,
            "latitude": latitude,
            "longitude": longitude,
            "opens_at": opens_at,
            "closes_at": closes_at,
            "phone": phone,
            "active": active,
        }.items()
        if value is not None
    }
    merged = {**{k: getattr(facility, k) for k in changes}, **changes}
    _check_location(
        region=facility.region,
        postal_code=merged.get("postal_code", facility.postal_code),
        latitude=merged.get("latitude", facility.latitude),
        longitude=merged.get("longitude", facility.longitude),
    )
    _check_hours(
        merged.get("opens_at", facility.opens_at), merged.get("closes_at", facility.closes_at)
    )
    with transaction.atomic():
        before = {k: str(getattr(facility, k)) for k in changes}
        for key, value in changes.items():
            setattr(facility, key, value)
        facility.save()
        audit_record(
            actor=by,
            action="facility.update",
            obj=facility,
            data={"before": before, "after": {k: str(v) for k, v in changes.items()}},
        )
    return facility


def facility_set_fee(
    *, by: User | None, facility: Facility, vaccine: Vaccine, amount: Decimal
) -> FacilityFee:
    """Set what a private facility charges for a dose of a vaccine."""
    if facility.kind != Facility.Kind.PRIVATE:
        raise DomainError("fee_public", _("Government facilities vaccinate free of charge."))
    if amount < 0:
        raise DomainError("fee_negative", _("A fee cannot be negative."), field="amount")
    if vaccine.country_id != facility.country_id:
        raise DomainError("vaccine_country", _("This vaccine is not offered in this country."))
    if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("10000000"):
        raise DomainError(
            "fee_format", _("Give the fee with at most two decimal places."), field="amount"
        )
    amount = amount.quantize(Decimal("0.01"))
    with transaction.atomic():
        fee, _created = FacilityFee.objects.update_or_create(
            facility=facility, vaccine=vaccine, defaults={"amount": amount}
        )
        audit_record(
            actor=by,
            action="facility.set_fee",
            obj=facility,
            data={"vaccine": vaccine.code, "amount": str(amount)},
        )
    return fee


def facility_remove_fee(*, by: User | None, fee: FacilityFee) -> None:
    """Stop charging a fee (the vaccine is then listed without a price)."""
    with transaction.atomic():
        audit_record(
            actor=by,
            action="facility.remove_fee",
            obj=fee.facility,
            data={"vaccine": fee.vaccine.code, "amount": str(fee.amount)},
        )
        fee.delete()


def staff_membership_grant(
    *,
    by: User | None,
    user: User,
    role: str,
    facility: Facility | None = None,
    region: Region | None = None,
) -> StaffMembership:
    """Give a user a role at a facility or over a region."""
    if role not in Role.values:
        raise DomainError("role_unknown", _("Unknown role."), field="role")
    if (facility is None) == (region is None):
        raise DomainError("scope_one", _("Choose either a facility or a region."), field="facility")
    if role in FACILITY_ROLES and facility is None:
        raise DomainError("scope_facility", _("This role works at one facility."), field="facility")
    if role in REGION_ROLES and region is None:
        raise DomainError("scope_region", _("This role covers a region."), field="region")
    try:
        with transaction.atomic():
            membership = StaffMembership.objects.create(
                user=user, role=role, facility=facility, region=region
            )
            audit_record(
                actor=by,
                action="staff.grant",
                obj=membership,
                data={
                    "user": user.get_username(),
                    "role": role,
                    "scope": facility.code if facility else region.code if region else "",
                },
            )
    except IntegrityError:
        raise DomainError("role_held", _("This person already has this role here.")) from None
    return membership


def staff_membership_revoke(*, by: User | None, membership: StaffMembership) -> None:
    """End a membership; it stays on record, inactive."""
    with transaction.atomic():
        membership.active = False
        membership.save(update_fields=["active"])
        audit_record(actor=by, action="staff.revoke", obj=membership)
