"""Staff sign-in: passwords with a lock-out per user name, and the optional TOTP second factor.

Failures count per user name, whether or not a user has it, so that a lock answers alike
for both and teaches nothing about which names exist. Counting is one conditional UPDATE
per failure, never read-modify-write in Python: simultaneous attempts are all counted, and
exactly one of them locks the name. Password hashing (argon2, deliberately slow) runs
outside any transaction, so that it never holds SQLite's write lock.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.core import totp
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import StaffSecurity, StaffSignInThrottle, User
from vaxnet.core.ratelimit import check_rate
from vaxnet.facilities.models import REGION_ROLES, StaffMembership

_HOUR = 3600
_USERNAME_LENGTH = 150
ISSUER = "vaxnet"


def _locked() -> DomainError:
    return DomainError(
        "sign_in_locked",
        _("Too many failed attempts. Sign-in is locked for a while: please try again later."),
        status=429,
    )


def _invalid_password() -> DomainError:
    return DomainError(
        "sign_in_invalid",
        _("Enter a correct user name and password. Both are case-sensitive."),
    )


def _invalid_code() -> DomainError:
    return DomainError("totp_invalid", _("This code is not correct."), field="code")


def throttle_key(username: str) -> str:
    """Return the name failures are counted under: trimmed, case-folded, bounded."""
    return username.strip().casefold()[:_USERNAME_LENGTH]


def _client_key(client: str) -> str:
    return client.strip()[:100] or "unknown"


def _count_client(client: str) -> None:
    check_rate(
        f"staff:sign_in:client:{_client_key(client)}",
        settings.VAXNET_STAFF_SIGN_IN_PER_CLIENT_PER_HOUR,
        _HOUR,
    )


def is_locked(*, username: str, at: datetime | None = None) -> bool:
    """Say whether sign-in is locked for a user name now."""
    at = at or timezone.now()
    return StaffSignInThrottle.objects.filter(
        username=throttle_key(username), locked_until__gt=at
    ).exists()


def _record_failure(*, username: str, user: User | None, reason: str, client: str) -> bool:
    """Count one failure for a user name (in the caller's transaction); say if it locked it."""
    now = timezone.now()
    key = throttle_key(username)
    window = timedelta(minutes=settings.VAXNET_STAFF_LOCKOUT_WINDOW_MINUTES)
    StaffSignInThrottle.objects.bulk_create(
        [StaffSignInThrottle(username=key)], ignore_conflicts=True
    )
    open_window = Q(window_started_at__gt=now - window)
    not_locked = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    # One statement counts the failure, or opens a new window with it: atomic in the database.
    StaffSignInThrottle.objects.filter(not_locked, username=key).update(
        failures=Case(When(open_window, then=F("failures") + 1), default=Value(1)),
        window_started_at=Case(
            When(open_window, then=F("window_started_at")),
            default=Value(now),
            output_field=DateTimeField(),
        ),
    )
    # Only the failure that reaches the limit finds the name unlocked and locks it.
    locked = StaffSignInThrottle.objects.filter(
        not_locked, username=key, failures__gte=settings.VAXNET_STAFF_LOCKOUT_ATTEMPTS
    ).update(
        locked_until=now + timedelta(minutes=settings.VAXNET_STAFF_LOCKOUT_MINUTES),
        failures=0,
        window_started_at=None,
    )
    _audit_failure(
        "staff.sign_in_failed", user=user, key=key, data={"reason": reason, "client": client}
    )
    if locked:
        _audit_failure(
            "staff.locked",
            user=user,
            key=key,
            data={"minutes": settings.VAXNET_STAFF_LOCKOUT_MINUTES, "client": client},
        )
    return bool(locked)


def _audit_failure(action: str, *, user: User | None, key: str, data: dict[str, object]) -> None:
    audit_record(
        actor=user,
        actor_label=key[:100],
        action=action,
        object_type="core.user",
        object_id=str(user.pk) if user is not None else "",
        data={"username": key, **data},
    )


def _fail(*, username: str, user: User | None, reason: str, client: str) -> None:
    with transaction.atomic():
        _record_failure(username=username, user=user, reason=reason, client=_client_key(client))


def _refuse_if_locked(*, username: str, user: User | None, client: str) -> None:
    if is_locked(username=username):
        with transaction.atomic():
            _audit_failure(
                "staff.sign_in_failed",
                user=user,
                key=throttle_key(username),
                data={"reason": "locked", "client": _client_key(client)},
            )
        raise _locked()


def staff_password_check(*, username: str, password: str, client: str) -> User:
    """Return the active user with this user name and password, within the limits and locks.

    This is the first step only: it does not reset the failures, since a second factor may
    follow (`staff_sign_in_complete` does).
    """
    _count_client(client)
    username = username.strip()[:_USERNAME_LENGTH]
    _refuse_if_locked(username=username, user=None, client=client)
    # ModelBackend hashes the password even for a missing user: the time says nothing.
    user = authenticate(None, username=username, password=password)
    if not isinstance(user, User):
        _fail(username=username, user=None, reason="password", client=client)
        raise _invalid_password()
    return user


def staff_code_check(*, user: User, code: str, client: str) -> None:
    """Accept the user's current TOTP code once, within the limits and locks."""
    _count_client(client)
    _refuse_if_locked(username=user.get_username(), user=user, client=client)
    if not _use_code(user=user, code=code):
        _fail(username=user.get_username(), user=user, reason="code", client=client)
        raise _invalid_code()


def _use_code(*, user: User, code: str) -> bool:
    """Accept an enabled user's code if it is for a step later than the last one used."""
    security = StaffSecurity.objects.filter(user=user, totp_enabled=True).first()
    if security is None:
        return False
    secret = totp.unseal(security.totp_secret, owner=str(user.pk))
    step = totp.matching_step(secret, code, at=timezone.now())
    if step is None:
        return False
    # The conditional UPDATE takes each step once, even when two requests bring the same code.
    used = (
        StaffSecurity.objects.filter(user=user, totp_enabled=True)
        .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
        .update(totp_last_step=step)
    )
    return used == 1


def staff_sign_in_complete(*, user: User, second_factor: bool, client: str) -> None:
    """Record a completed sign-in and clear the user name's failures; refuse if it is locked."""
    key = throttle_key(user.get_username())
    with transaction.atomic():
        # Locking the row orders this after any failure being counted at the same moment.
        row = StaffSignInThrottle.objects.select_for_update().filter(username=key).first()
        if row is not None and row.locked_until is not None and row.locked_until > timezone.now():
            raise _locked()
        if row is not None:
            StaffSignInThrottle.objects.filter(pk=row.pk).update(failures=0, window_started_at=None)
        audit_record(
            actor=user,
            action="staff.sign_in",
            obj=user,
            data={"second_factor": second_factor, "client": _client_key(client)},
        )


def totp_required(*, user: User) -> bool:
    """Say whether this user must sign in with a TOTP code (administrators, when so set)."""
    if not settings.VAXNET_STAFF_TOTP_REQUIRED:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return StaffMembership.objects.filter(
        user=user, active=True, role__in=sorted(REGION_ROLES)
    ).exists()


def totp_enabled(*, user: User) -> bool:
    """Say whether the user has confirmed a TOTP authenticator."""
    return StaffSecurity.objects.filter(user=user, totp_enabled=True).exists()


def totp_enrol_begin(*, user: User) -> str:
    """Return the secret to enrol, making one on first call; refuse if TOTP is already on."""
    with transaction.atomic():
        StaffSecurity.objects.bulk_create([StaffSecurity(user=user)], ignore_conflicts=True)
        security = StaffSecurity.objects.select_for_update().get(user=user)
        if security.totp_enabled:
            raise DomainError(
                "totp_already_enabled", _("Your authenticator app is already set up.")
            )
        if security.totp_secret:
            # The same secret until it is confirmed: reloading the page must not change the QR.
            return totp.unseal(security.totp_secret, owner=str(user.pk))
        secret = totp.new_secret()
        security.totp_secret = totp.seal(secret, owner=str(user.pk))
        security.totp_last_step = None
        security.save(update_fields=["totp_secret", "totp_last_step"])
        return secret


def totp_enrol_confirm(*, user: User, code: str) -> None:
    """Turn TOTP on once the user has typed a code of the secret being enrolled."""
    with transaction.atomic():
        security = StaffSecurity.objects.select_for_update().filter(user=user).first()
        if security is None or not security.totp_secret:
            raise DomainError("totp_not_started", _("Start again: the set-up has expired."))
        if security.totp_enabled:
            raise DomainError(
                "totp_already_enabled", _("Your authenticator app is already set up.")
            )
        secret = totp.unseal(security.totp_secret, owner=str(user.pk))
        now = timezone.now()
        step = totp.matching_step(secret, code, at=now)
        if step is None:
            raise _invalid_code()
        security.totp_enabled = True
        security.totp_enabled_at = now
        security.totp_last_step = step
        security.save(update_fields=["totp_enabled", "totp_enabled_at", "totp_last_step"])
        audit_record(actor=user, action="staff.totp_enabled", obj=user)


def totp_disable(*, user: User, code: str, client: str) -> None:
    """Turn TOTP off with a current code; administrators who must use it cannot."""
    if totp_required(user=user):
        raise DomainError(
            "totp_required",
            _("Administrators must sign in with an authenticator app: it cannot be turned off."),
        )
    staff_code_check(user=user, code=code, client=client)
    with transaction.atomic():
        StaffSecurity.objects.filter(user=user).update(
            totp_secret="", totp_enabled=False, totp_enabled_at=None, totp_last_step=None
        )
        audit_record(actor=user, action="staff.totp_disabled", obj=user)
