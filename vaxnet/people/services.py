"""Every write to citizen accounts, OTP challenges and beneficiaries."""

import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.core.ratelimit import check_rate
from vaxnet.core.rows import insert_returning
from vaxnet.countries.models import Country, IdDocumentType
from vaxnet.dashboard.services import people_tallied
from vaxnet.people.crypto import id_number_hash, otp_code_hash
from vaxnet.people.models import (
    EARLIEST_BIRTH_YEAR,
    OTP_MAX_ATTEMPTS,
    OTP_VALID_FOR,
    Account,
    Beneficiary,
    OtpChallenge,
    Sex,
    new_reference,
)

# Sign-in limits. Per number: a cool-down between codes and an hourly cap, so that nobody
# can flood a phone with SMS. Per client (an address or API key): caps on codes asked for
# and on codes tried, so that one client cannot walk through many numbers.
OTP_COOLDOWN_SECONDS = 30
OTP_PER_NUMBER_PER_HOUR = 5
OTP_PER_CLIENT_PER_HOUR = 20
OTP_VERIFY_PER_CLIENT_PER_HOUR = 100
OTP_CODE_DIGITS = 6
NAME_MAX_LENGTH = 100
_REFERENCE_TRIES = 5
_HOUR = 3600

_PHONE_CHARS = re.compile(r"[0-9 ()+\-.]*[0-9][0-9 ()+\-.]*")
_PHONE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


class Unset(Enum):
    """Marks an argument that was not given (where None means "clear it")."""

    UNSET = "unset"


UNSET = Unset.UNSET


def _citizen(account: Account) -> str:
    return f"account:{account.pk}"


def _client_key(client: str) -> str:
    return client.strip()[:100] or "unknown"


# --- Mobile numbers and OTP sign-in ---------------------------------------------------------


def phone_normalise(*, country: Country, raw: str) -> str:
    """Return a mobile number of the country in E.164 form, or refuse it."""
    invalid = DomainError("phone_invalid", _("Enter a valid mobile number."), field="phone")
    # Digits and the usual separators only: no letters ("vanity" numbers) or extensions.
    if not isinstance(raw, str) or len(raw) > 32 or not _PHONE_CHARS.fullmatch(raw.strip()):
        raise invalid
    try:
        number = phonenumbers.parse(raw.strip(), country.phone_region)
    except phonenumbers.NumberParseException:
        raise invalid from None
    if not phonenumbers.is_valid_number(number):
        raise invalid
    if phonenumbers.region_code_for_number(number) != country.phone_region:
        raise DomainError(
            "phone_invalid",
            _("Enter a mobile number from {country}.").format(country=country.name),
            field="phone",
        )
    if phonenumbers.number_type(number) not in _PHONE_TYPES:
        raise DomainError(
            "phone_invalid",
            _("This is not a mobile number; codes are sent by SMS."),
            field="phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _cooling(seconds: int) -> str:
    return ngettext(
        "Please wait {count} second before asking for another code.",
        "Please wait {count} seconds before asking for another code.",
        seconds,
    ).format(count=seconds)


def _capped(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many codes were sent to this number. Please try again in {count} minute.",
        "Too many codes were sent to this number. Please try again in {count} minutes.",
        minutes,
    ).format(count=minutes)


def otp_request(*, country: Country, phone: str, client: str, language: str) -> OtpChallenge:
    """Send a one-time sign-in code to a mobile number by SMS, within the limits."""
    from vaxnet.notifications.services import message_enqueue

    phone = phone_normalise(country=country, raw=phone)
    client = _client_key(client)
    if language not in country.languages:
        language = country.languages[0]
    check_rate(f"otp:client:{client}", OTP_PER_CLIENT_PER_HOUR, _HOUR)
    check_rate(f"otp:cooldown:{country.code}:{phone}", 1, OTP_COOLDOWN_SECONDS, message=_cooling)
    check_rate(
        f"otp:number:{country.code}:{phone}", OTP_PER_NUMBER_PER_HOUR, _HOUR, message=_capped
    )

    code = f"{secrets.randbelow(10**OTP_CODE_DIGITS):0{OTP_CODE_DIGITS}d}"
    now = timezone.now()
    challenge = OtpChallenge(
        country=country,
        phone=phone,
        language=language,
        created_at=now,
        expires_at=now + OTP_VALID_FOR,
        max_attempts=OTP_MAX_ATTEMPTS,
        client=client,
    )
    challenge.code_hash = otp_code_hash(txn=challenge.public_id, code=code)
    with transaction.atomic():
        challenge.save(force_insert=True)
        audit_record(
            actor=None,
            actor_label="citizen",
            action="otp.request",
            obj=challenge,
            data={"client": client},
        )
        # The SMS is the only way the code leaves this function.
        message_enqueue(
            to=phone,
            language=language,
            template="otp",
            context={"code": code},
            dedupe_key=f"otp:{challenge.public_id}",
        )
    return challenge


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the account, and whether this sign-in created it."""

    account: Account
    new_account: bool


def otp_verify(
    *, txn: str, client: str, code: str | None = None, code_sha256: str | None = None
) -> Account:
    """Sign in with the code sent for a challenge; the first sign-in creates the account.

    Give the code as typed, or `code_sha256`: its SHA-256 in hex, as CoWIN clients send it.
    """
    return otp_sign_in(txn=txn, client=client, code=code, code_sha256=code_sha256).account


def otp_sign_in(
    *, txn: str, client: str, code: str | None = None, code_sha256: str | None = None
) -> SignIn:
    """Sign in like otp_verify, and also say whether the account was created just now."""
    client = _client_key(client)
    check_rate(f"otp:verify:client:{client}", OTP_VERIFY_PER_CLIENT_PER_HOUR, _HOUR)
    invalid = DomainError("otp_invalid", _("This code is not correct."), field="code")
    challenge = OtpChallenge.objects.filter(public_id=str(txn)[:24]).first()
    if challenge is None:
        raise invalid
    if challenge.is_used():
        raise _used()
    if challenge.is_locked():
        raise _locked()
    now = timezone.now()
    if challenge.is_expired(now):
        raise DomainError(
            "otp_expired", _("This code has expired. Ask for a new one."), field="code"
        )

    if code_sha256 is not None:
        offered = otp_code_hash(txn=challenge.public_id, code_sha256=str(code_sha256).strip()[:64])
    else:
        offered = otp_code_hash(txn=challenge.public_id, code=str(code or "").strip()[:16])
    matches = hmac.compare_digest(challenge.code_hash, offered)
    signed_in: SignIn | None = None
    with transaction.atomic():
        # One conditional UPDATE spends an attempt (and, with the right code, uses the
        # challenge up), so that concurrent tries can neither exceed the allowed number nor
        # sign in twice, on SQLite and PostgreSQL alike.
        updates: dict[str, Any] = {"attempts": F("attempts") + 1}
        if matches:
            updates["verified_at"] = now
        spent = OtpChallenge.objects.filter(
            pk=challenge.pk, attempts__lt=F("max_attempts"), verified_at__isnull=True
        ).update(**updates)
        if spent and matches:
            signed_in = _sign_in(challenge, now)
        elif spent:
            audit_record(
                actor=None, actor_label="citizen", action="otp.verify_failed", obj=challenge
            )
    if not spent:
        challenge.refresh_from_db()
        if challenge.is_used():
            raise _used()
        raise _locked()
    if signed_in is None:
        left = challenge.max_attempts - challenge.attempts - 1
        raise DomainError(
            "otp_invalid",
            ngettext(
                "This code is not correct. You can try {count} more time.",
                "This code is not correct. You can try {count} more times.",
                left,
            ).format(count=left)
            if left > 0
            else _("This code is not correct, and no tries are left. Ask for a new one."),
            field="code",
        )
    return signed_in


def _used() -> DomainError:
    return DomainError(
        "otp_used", _("This code has already been used. Ask for a new one."), field="code"
    )


def _locked() -> DomainError:
    return DomainError("otp_locked", _("Too many wrong codes. Ask for a new one."), field="code")


def _sign_in(challenge: OtpChallenge, now: datetime) -> SignIn:
    """Return the number's account, created on its first sign-in, marked as signed in now."""
    account = Account.objects.filter(country=challenge.country, phone=challenge.phone).first()
    created = False
    if account is None:
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    country=challenge.country, phone=challenge.phone, language=challenge.language
                )
                audit_record(
                    actor=None, actor_label=_citizen(account), action="account.create", obj=account
                )
            created = True
        except IntegrityError:
            # Another challenge for the same number signed in at the same moment.
            account = Account.objects.get(country=challenge.country, phone=challenge.phone)
    if not account.active:
        raise DomainError(
            "account_inactive", _("This account is closed. Please contact the helpline.")
        )
    account.last_sign_in_at = now
    account.save(update_fields=["last_sign_in_at"])
    audit_record(
        actor=None,
        actor_label=_citizen(account),
        action="account.sign_in",
        obj=account,
        data={"txn": challenge.public_id},
    )
    return SignIn(account=account, new_account=created)


def otp_purge(*, before: datetime) -> int:
    """Delete the challenges that expired before a moment; return how many."""
    with transaction.atomic():
        count, _deleted = OtpChallenge.objects.filter(expires_at__lt=before).delete()
        audit_record(
            actor=None,
            action="otp.purge",
            object_type="people.otpchallenge",
            data={"count": count, "before": before.isoformat()},
        )
    return count


# --- Beneficiaries --------------------------------------------------------------------------


def person_details_clean(*, name: str, sex: str, birth_year: int, birth_date: date | None) -> str:
    """Return the trimmed name, or refuse a person's details that cannot be right."""
    name = " ".join(str(name).split())
    if not name:
        raise DomainError("name_required", _("Enter the person's name."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(
            "name_too_long",
            _("A name can have at most {count} characters.").format(count=NAME_MAX_LENGTH),
            field="name",
        )
    if sex not in Sex.values:
        raise DomainError("sex_invalid", _("Choose male, female or other."), field="sex")
    today = timezone.localdate()
    if (
        isinstance(birth_year, bool)
        or not isinstance(birth_year, int)
        or not EARLIEST_BIRTH_YEAR <= birth_year <= today.year
    ):
        raise DomainError(
            "birth_year_range",
            _("Enter a year of birth between {first} and {last}.").format(
                first=EARLIEST_BIRTH_YEAR, last=today.year
            ),
            field="birth_year",
        )
    if birth_date is not None:
        if birth_date > today:
            raise DomainError(
                "birth_date_future",
                _("The date of birth cannot be in the future."),
                field="birth_date",
            )
        if birth_date.year != birth_year:
            raise DomainError(
                "birth_date_mismatch",
                _("The date of birth does not match the year of birth."),
                field="birth_date",
            )
    return name


def id_type_of(country: Country, code: str) -> IdDocumentType:
    """Return a country's ID document type by code, or refuse an unknown one."""
    id_type = IdDocumentType.objects.filter(country=country, code=code).first()
    if id_type is None:
        raise DomainError(
            "id_type_unknown", _("Choose one of the ID documents listed."), field="id_type"
        )
    return id_type


def id_registered_refusal(holder: Beneficiary, account: Account | None) -> DomainError:
    """Return the refusal for a document someone already registered."""
    if account is not None and holder.account_id == account.pk:
        return DomainError(
            "id_duplicate",
            _("This person is already registered on your account."),
            field="id_number",
        )
    # Nothing here may hint at which account holds the document, or whose it is.
    return DomainError(
        "id_taken",
        _("This ID document is already registered. If it is yours, contact the helpline."),
        field="id_number",
    )


def id_holder(
    country: Country, id_type: IdDocumentType, id_hash: str, exclude: int | None = None
) -> Beneficiary | None:
    """Return who registered an ID document already (other than `exclude`), if anyone."""
    query = Beneficiary.objects.filter(country=country, id_type=id_type, id_hash=id_hash)
    if exclude is not None:
        query = query.exclude(pk=exclude)
    return query.first()


def beneficiary_add(
    *,
    account: Account,
    name: str,
    sex: str,
    birth_year: int,
    birth_date: date | None = None,
    id_type_code: str,
    id_number: str,
) -> Beneficiary:
    """Register a person on an account, identified by one ID document."""
    country = account.country
    name = person_details_clean(name=name, sex=sex, birth_year=birth_year, birth_date=birth_date)
    id_type = id_type_of(country, id_type_code)
    number = id_type.validate(id_number)
    id_hash = id_number_hash(country_code=country.code, id_type_code=id_type.code, number=number)
    limit = int(country.setting("booking", "beneficiaries_per_account", 4))

    with transaction.atomic():
        # Lock the account so that two adds at once cannot both pass the limit check
        # (on SQLite the IMMEDIATE transaction already makes writers take turns).
        locked = Account.objects.select_for_update().filter(pk=account.pk).first()
        if locked is None or not locked.active:
            raise NotFound()
        if Beneficiary.objects.filter(account=locked).count() >= limit:
            raise DomainError(
                "beneficiary_limit",
                _("An account can register at most {count} people.").format(count=limit),
            )
        holder = id_holder(country, id_type, id_hash)
        if holder is not None:
            raise id_registered_refusal(holder, locked)
        beneficiary = Beneficiary(
            account=locked,
            country=country,
            name=name,
            sex=sex,
            birth_year=birth_year,
            birth_date=birth_date,
            id_type=id_type,
            id_hash=id_hash,
            id_last4=number[-4:],
        )
        _insert_with_reference(beneficiary, locked)
        people_tallied([beneficiary.pk])
        audit_record(
            actor=None,
            actor_label=_citizen(locked),
            action="beneficiary.add",
            obj=beneficiary,
            data={"reference": beneficiary.reference, "id_type": id_type.code},
        )
    return beneficiary


def _insert_with_reference(beneficiary: Beneficiary, account: Account | None) -> None:
    """Save a new beneficiary under a fresh reference number, drawing again on a collision."""
    for _attempt in range(_REFERENCE_TRIES):
        beneficiary.reference = new_reference()
        try:
            with transaction.atomic():
                beneficiary.save(force_insert=True)
            return
        except IntegrityError:
            # Either someone registered the same document a moment ago, or (rarely) the
            # random reference is taken: tell the one from the other.
            holder = id_holder(beneficiary.country, beneficiary.id_type, beneficiary.id_hash)
            if holder is not None:
                raise id_registered_refusal(holder, account) from None
            if not Beneficiary.objects.filter(reference=beneficiary.reference).exists():
                raise
    raise RuntimeError("Could not draw a free reference number.")  # pragma: no cover


def _locked_after_dose() -> DomainError:
    return DomainError(
        "locked_after_dose",
        _("This person's details cannot be changed after the first dose. Ask at the centre."),
    )


def beneficiary_update(
    *,
    account: Account,
    beneficiary: Beneficiary,
    name: str | None = None,
    sex: str | None = None,
    birth_year: int | None = None,
    birth_date: date | Literal[Unset.UNSET] | None = UNSET,
    id_type_code: str | None = None,
    id_number: str | None = None,
) -> Beneficiary:
    """Correct a person's details before the first dose; only the fields given change.

    The ID number is not kept, so changing the document type needs the number again.
    """
    with transaction.atomic():
        current = (
            Beneficiary.objects.select_for_update()
            .filter(pk=beneficiary.pk, account_id=account.pk)
            .first()
        )
        if current is None:
            raise NotFound()
        if current.has_doses():
            raise _locked_after_dose()
        new_birth_date = current.birth_date if birth_date is UNSET else birth_date
        changes: dict[str, Any] = {
            "name": person_details_clean(
                name=current.name if name is None else name,
                sex=current.sex if sex is None else sex,
                birth_year=current.birth_year if birth_year is None else birth_year,
                birth_date=new_birth_date,
            ),
            "sex": current.sex if sex is None else sex,
            "birth_year": current.birth_year if birth_year is None else birth_year,
            "birth_date": new_birth_date,
        }
        if id_number is not None:
            id_type = id_type_of(current.country, id_type_code or current.id_type.code)
            number = id_type.validate(id_number)
            changes["id_type"] = id_type
            changes["id_hash"] = id_number_hash(
                country_code=current.country.code, id_type_code=id_type.code, number=number
            )
            changes["id_last4"] = number[-4:]
            holder = id_holder(current.country, id_type, changes["id_hash"], exclude=current.pk)
            if holder is not None:
                raise id_registered_refusal(holder, account)
        elif id_type_code is not None and id_type_code != current.id_type.code:
            raise DomainError(
                "id_number_required",
                _("Enter the number of the new ID document."),
                field="id_number",
            )
        changed = [key for key, value in changes.items() if getattr(current, key) != value]
        if not changed:
            return current
        for key in changed:
            setattr(current, key, changes[key])
        try:
            with transaction.atomic():
                current.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            holder = id_holder(
                current.country, current.id_type, current.id_hash, exclude=current.pk
            )
            if holder is None:
                raise
            raise id_registered_refusal(holder, account) from None
        people_tallied([current.pk])  # registrations count by age band and sex
        audit_record(
            actor=None,
            actor_label=_citizen(account),
            action="beneficiary.update",
            obj=current,
            data={"reference": current.reference, "fields": changed},
        )
    return current


def beneficiary_remove(*, account: Account, beneficiary: Beneficiary) -> None:
    """Remove a person from an account, which is possible only before the first dose."""
    with transaction.atomic():
        current = (
            Beneficiary.objects.select_for_update()
            .filter(pk=beneficiary.pk, account_id=account.pk)
            .first()
        )
        if current is None:
            raise NotFound()
        if current.has_doses():
            raise _locked_after_dose()
        audit_record(
            actor=None,
            actor_label=_citizen(account),
            action="beneficiary.remove",
            obj=current,
            data={"reference": current.reference},
        )
        try:
            with transaction.atomic():
                current.delete()
                people_tallied([beneficiary.pk])  # its registration no longer counts
        except ProtectedError:
            # Appointments (even cancelled ones) keep their beneficiary on record.
            raise DomainError(
                "has_appointments",
                _("{name} has appointments on record and cannot be removed.").format(
                    name=current.name
                ),
            ) from None


def beneficiary_register_on_site(
    *,
    country: Country,
    name: str,
    sex: str,
    birth_year: int,
    birth_date: date | None = None,
    id_type_code: str,
    id_number: str,
    phone: str = "",
    language: str = "",
    by: User,
) -> Beneficiary:
    """Return the person with this ID document, registering them at a facility if new.

    The verifier holds the document, so a document already registered finds its person
    (the one a duplicate was merged into, if merged). A new person is registered on the
    account of the mobile number given (opened now if there is none; the citizen signs in
    to it later with an OTP), or on no account without a number.
    """
    name = person_details_clean(name=name, sex=sex, birth_year=birth_year, birth_date=birth_date)
    id_type = id_type_of(country, id_type_code)
    number = id_type.validate(id_number)
    id_hash = id_number_hash(country_code=country.code, id_type_code=id_type.code, number=number)
    holder = id_holder(country, id_type, id_hash)
    if holder is not None:
        return holder.merged_into if holder.merged_into is not None else holder
    phone = phone_normalise(country=country, raw=phone) if str(phone).strip() else ""
    languages = [code for code, _name in settings.LANGUAGES]
    language = language if language in languages else country.languages[0]
    limit = int(country.setting("booking", "beneficiaries_per_account", 4))
    with transaction.atomic():
        account = None
        if phone:
            insert_returning(
                Account(country=country, phone=phone, language=language), ignore_conflicts=True
            )
            account = Account.objects.select_for_update().get(country=country, phone=phone)
            if Beneficiary.objects.filter(account=account).count() >= limit:
                raise DomainError(
                    "beneficiary_limit",
                    _(
                        "The account of this mobile number already has {count} people: "
                        "register this person without a number, or with another."
                    ).format(count=limit),
                    field="phone",
                )
        beneficiary = Beneficiary(
            account=account,
            country=country,
            name=name,
            sex=sex,
            birth_year=birth_year,
            birth_date=birth_date,
            id_type=id_type,
            id_hash=id_hash,
            id_last4=number[-4:],
        )
        try:
            _insert_with_reference(beneficiary, account)
        except DomainError:
            # Registered a moment ago by someone else: that is this person.
            holder = id_holder(country, id_type, id_hash)
            if holder is None:
                raise
            return holder
        people_tallied([beneficiary.pk])
        audit_record(
            actor=by,
            action="beneficiary.register_on_site",
            obj=beneficiary,
            data={"reference": beneficiary.reference, "id_type": id_type.code},
        )
    return beneficiary
