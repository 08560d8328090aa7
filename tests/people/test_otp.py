"""Signing in with a mobile OTP: hashed, short-lived, few tries, single use, rate limited."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent
from vaxnet.core.ratelimit import RateLimited
from vaxnet.countries.models import Country
from vaxnet.notifications.models import Message
from vaxnet.people import services
from vaxnet.people.crypto import otp_code_digest, otp_code_hash
from vaxnet.people.models import Account, OtpChallenge
from vaxnet.people.services import otp_purge, otp_request, otp_sign_in, otp_verify

from .conftest import CITIZEN_PHONE, CLIENT, sign_in, sms_code

pytestmark = pytest.mark.django_db

# Ahead of the real clock, so that limits counted by fixtures at real time have run out.
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def _request(country: Country, phone: str = CITIZEN_PHONE, **kwargs: str) -> OtpChallenge:
    fields = {"client": CLIENT, "language": "en", **kwargs}
    return otp_request(country=country, phone=phone, **fields)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _refusal(txn: str, code: str, client: str = CLIENT) -> DomainError:
    with pytest.raises(DomainError) as info:
        otp_verify(txn=txn, code=code, client=client)
    return info.value


def test_it_sends_the_code_by_sms_in_the_callers_language_and_keeps_only_its_hash(
    country: Country,
) -> None:
    challenge = _request(country, phone="98765 43210", language="hi")

    message = Message.objects.get(recipient=CITIZEN_PHONE, template="otp")
    code = sms_code(CITIZEN_PHONE)
    assert message.language == "hi"
    assert len(code) == 6 and code.isdigit()
    assert challenge.phone == CITIZEN_PHONE
    assert challenge.code_hash == otp_code_hash(txn=challenge.public_id, code=code)
    assert code not in challenge.code_hash
    assert code not in str(vars(challenge))
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=3)
    assert len(challenge.public_id) == 20 and not challenge.public_id.isdigit()


def test_it_keeps_the_code_out_of_the_audit_log(country: Country) -> None:
    _request(country)
    code = sms_code(CITIZEN_PHONE)

    events = AuditEvent.objects.filter(action="otp.request")
    assert events.count() == 1
    assert all(code not in str(event.data) for event in events)


def test_it_sends_an_unknown_language_in_the_countrys_first(country: Country) -> None:
    _request(country, language="fr")

    assert Message.objects.get(recipient=CITIZEN_PHONE).language == "en"


def test_it_signs_in_with_the_code_and_creates_the_account_on_the_first_sign_in(
    country: Country,
) -> None:
    challenge = _request(country, language="ta")

    account = otp_verify(txn=challenge.public_id, code=sms_code(CITIZEN_PHONE), client=CLIENT)

    assert account.phone == CITIZEN_PHONE
    assert account.country == country
    assert account.language == "ta"
    assert account.last_sign_in_at is not None
    challenge.refresh_from_db()
    assert challenge.verified_at is not None
    assert AuditEvent.objects.filter(action="account.create", object_id=str(account.pk)).exists()


def test_it_signs_the_same_account_in_again(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        first = sign_in(country, CITIZEN_PHONE)
        traveller.shift(timedelta(minutes=5))
        again = sign_in(country, " +91 98765-43210 ")

    assert again.pk == first.pk
    assert again.last_sign_in_at == START + timedelta(minutes=5)
    assert Account.objects.filter(phone=CITIZEN_PHONE).count() == 1


def test_it_refuses_a_wrong_code_and_says_how_many_tries_are_left(country: Country) -> None:
    challenge = _request(country)

    error = _refusal(challenge.public_id, _wrong(sms_code(CITIZEN_PHONE)))

    assert error.code == "otp_invalid"
    assert error.field == "code"
    assert "4 more times" in str(error.message)
    assert not Account.objects.exists()


def test_it_locks_the_challenge_after_five_tries_even_for_the_right_code(
    country: Country,
) -> None:
    challenge = _request(country)
    code = sms_code(CITIZEN_PHONE)

    codes = [_refusal(challenge.public_id, _wrong(code)).code for _ in range(5)]
    sixth = _refusal(challenge.public_id, code)

    assert codes == ["otp_invalid"] * 5
    assert sixth.code == "otp_locked"
    challenge.refresh_from_db()
    assert challenge.attempts == 5
    assert challenge.verified_at is None
    assert not Account.objects.exists()


def test_it_accepts_the_right_code_on_the_fifth_try(country: Country) -> None:
    challenge = _request(country)
    code = sms_code(CITIZEN_PHONE)
    for _ in range(4):
        _refusal(challenge.public_id, _wrong(code))

    account = otp_verify(txn=challenge.public_id, code=code, client=CLIENT)

    assert account.phone == CITIZEN_PHONE


def test_it_accepts_a_code_until_three_minutes_have_passed(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        challenge = _request(country)
        traveller.shift(timedelta(minutes=3) - timedelta(seconds=1))

        account = otp_verify(txn=challenge.public_id, code=sms_code(CITIZEN_PHONE), client=CLIENT)

    assert account.phone == CITIZEN_PHONE


def test_it_refuses_a_code_after_three_minutes(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        challenge = _request(country)
        traveller.shift(timedelta(minutes=3))

        error = _refusal(challenge.public_id, sms_code(CITIZEN_PHONE))

    assert error.code == "otp_expired"
    assert not Account.objects.exists()


def test_it_refuses_a_code_used_twice(country: Country) -> None:
    challenge = _request(country)
    code = sms_code(CITIZEN_PHONE)
    otp_verify(txn=challenge.public_id, code=code, client=CLIENT)

    error = _refusal(challenge.public_id, code)

    assert error.code == "otp_used"


def test_it_refuses_an_unknown_transaction_like_a_wrong_code(country: Country) -> None:
    challenge = _request(country)

    unknown = _refusal("0" * 20, sms_code(CITIZEN_PHONE))
    wrong = _refusal(challenge.public_id, "abc")

    assert unknown.code == wrong.code == "otp_invalid"


def test_it_answers_alike_for_numbers_with_and_without_an_account(
    country: Country, citizen: Account
) -> None:
    stranger = "+919900112233"
    with time_machine.travel(START, tick=False) as traveller:
        traveller.shift(timedelta(minutes=1))
        known = _request(country, phone=CITIZEN_PHONE)
        unknown = _request(country, phone=stranger)
        known_error = _refusal(known.public_id, _wrong(sms_code(CITIZEN_PHONE)))
        unknown_error = _refusal(unknown.public_id, _wrong(sms_code(stranger)))

    assert type(known) is type(unknown)
    assert (known_error.code, str(known_error.message)) == (
        unknown_error.code,
        str(unknown_error.message),
    )


def test_it_makes_the_caller_wait_30_seconds_between_codes(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        _request(country)
        traveller.shift(timedelta(seconds=10))
        with pytest.raises(RateLimited) as info:
            _request(country, client="198.51.100.1")
        traveller.shift(timedelta(seconds=20))
        _request(country)

    assert info.value.code == "rate_limited"
    assert info.value.status == 429
    assert info.value.retry_after == 20
    assert "20 seconds" in str(info.value.message)
    assert Message.objects.filter(recipient=CITIZEN_PHONE).count() == 2


def test_it_sends_at_most_five_codes_to_a_number_in_an_hour(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(5):
            _request(country)
            traveller.shift(timedelta(seconds=31))
        with pytest.raises(RateLimited) as info:
            _request(country)
        traveller.move_to(START + timedelta(hours=1))
        _request(country)

    assert info.value.retry_after == 3600 - 5 * 31
    assert "minutes" in str(info.value.message)
    assert Message.objects.filter(recipient=CITIZEN_PHONE).count() == 6


def test_it_limits_the_codes_one_client_asks_for(country: Country) -> None:
    phones = [f"+9199000{n:05d}" for n in range(21)]
    for phone in phones[:20]:
        _request(country, phone=phone)

    with pytest.raises(RateLimited) as info:
        _request(country, phone=phones[20])
    _request(country, phone=phones[20], client="198.51.100.1")

    assert info.value.retry_after > 3000
    assert Message.objects.filter(recipient=phones[20]).count() == 1


def test_it_limits_the_codes_one_client_tries(country: Country) -> None:
    challenge = _request(country)
    for _ in range(services.OTP_VERIFY_PER_CLIENT_PER_HOUR):
        _refusal("X" * 20, "000000")

    error = _refusal(challenge.public_id, sms_code(CITIZEN_PHONE))
    account = otp_verify(
        txn=challenge.public_id, code=sms_code(CITIZEN_PHONE), client="198.51.100.1"
    )

    assert error.code == "rate_limited"
    assert error.status == 429
    assert account.phone == CITIZEN_PHONE


def test_it_refuses_sign_in_to_a_closed_account(country: Country, citizen: Account) -> None:
    Account.objects.filter(pk=citizen.pk).update(active=False)
    with time_machine.travel(START, tick=False):
        challenge = _request(country)

        error = _refusal(challenge.public_id, sms_code(CITIZEN_PHONE))

    assert error.code == "account_inactive"


def test_it_purges_expired_challenges(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        old = _request(country)
        traveller.shift(timedelta(minutes=10))
        fresh = _request(country)

        count = otp_purge(before=START + timedelta(minutes=5))

    assert count == 1
    assert not OtpChallenge.objects.filter(pk=old.pk).exists()
    assert OtpChallenge.objects.filter(pk=fresh.pk).exists()


# CoWIN clients send the SHA-256 of the code (hex) instead of the code.


def _sha256(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _digest_refusal(txn: str, digest: str) -> DomainError:
    with pytest.raises(DomainError) as info:
        otp_verify(txn=txn, code_sha256=digest, client=CLIENT)
    return info.value


def test_it_keeps_one_hash_that_the_code_and_its_sha256_both_match(country: Country) -> None:
    challenge = _request(country)
    code = sms_code(CITIZEN_PHONE)

    by_code = otp_code_hash(txn=challenge.public_id, code=code)
    by_digest = otp_code_hash(txn=challenge.public_id, code_sha256=_sha256(code).upper())

    assert challenge.code_hash == by_code == by_digest
    assert otp_code_digest(code) == _sha256(code)
    assert _sha256(code) not in str(vars(challenge))


def test_it_signs_in_with_the_sha256_of_the_code(country: Country) -> None:
    challenge = _request(country)

    account = otp_verify(
        txn=challenge.public_id, code_sha256=f" {_sha256(sms_code(CITIZEN_PHONE))} ", client=CLIENT
    )

    assert account.phone == CITIZEN_PHONE


def test_it_counts_wrong_digests_against_the_same_five_tries(country: Country) -> None:
    challenge = _request(country)
    code = sms_code(CITIZEN_PHONE)

    refusals = [
        _digest_refusal(challenge.public_id, _sha256(_wrong(code))).code,
        _digest_refusal(challenge.public_id, code).code,  # the code itself is not its digest
        _refusal(challenge.public_id, _wrong(code)).code,
        _digest_refusal(challenge.public_id, "not hex at all").code,
        _digest_refusal(challenge.public_id, "").code,
        _digest_refusal(challenge.public_id, _sha256(code)).code,
    ]

    assert refusals == ["otp_invalid"] * 5 + ["otp_locked"]
    challenge.refresh_from_db()
    assert challenge.attempts == 5 and challenge.verified_at is None


def test_it_refuses_an_expired_code_given_as_a_digest(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        challenge = _request(country)
        traveller.shift(timedelta(minutes=3))

        error = _digest_refusal(challenge.public_id, _sha256(sms_code(CITIZEN_PHONE)))

    assert error.code == "otp_expired"


def test_it_says_whether_the_sign_in_made_the_account(country: Country) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        first = _request(country)
        made = otp_sign_in(txn=first.public_id, code=sms_code(CITIZEN_PHONE), client=CLIENT)
        traveller.shift(timedelta(minutes=1))
        second = _request(country)
        again = otp_sign_in(
            txn=second.public_id, code_sha256=_sha256(sms_code(CITIZEN_PHONE)), client=CLIENT
        )

    assert made.new_account and not again.new_account
    assert made.account == again.account


def test_it_hashes_either_the_code_or_its_digest() -> None:
    with pytest.raises(ValueError):
        otp_code_hash(txn="t")
    with pytest.raises(ValueError):
        otp_code_hash(txn="t", code="123456", code_sha256=_sha256("123456"))
