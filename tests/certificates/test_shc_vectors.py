"""SMART Health Cards against the published spec examples and the dev-tools negative cases."""

import base64
import io
import json
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import segno
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image

from vaxnet.certificates.formats import shc
from vaxnet.certificates.formats.base import (
    SHC,
    FormatError,
    Reason,
    SigningKey,
    Trust,
    TrustedKey,
    Verdict,
)
from vaxnet.core.qr import QrSymbol

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
EXAMPLES = VECTORS / "shc" / "spec-examples"
NEGATIVE = VECTORS / "shc" / "dev-tools-negative"
ISSUER = "https://spec.smarthealth.cards/examples/issuer"
KID = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
# The examples were signed on 2023-06-22 (nbf 1687450764.656); any later time will do.
AT = datetime(2024, 1, 1, tzinfo=UTC)


def read(path: Path) -> str:
    """Return a vector file's text."""
    return path.read_text(encoding="utf-8")


def example_trust() -> Trust:
    """Return a trust holding the example issuer's published keys."""
    jwks = json.loads(read(EXAMPLES / "issuer" / ".well-known" / "jwks.json"))
    return Trust(keys=shc.trusted_keys(jwks, ISSUER))


def example_crl() -> dict[str, Any]:
    """Return the example issuer's revocation list."""
    return json.loads(read(EXAMPLES / "issuer" / ".well-known" / "crl" / f"{KID}.json"))


def example_signing_key() -> SigningKey:
    """Return the example issuer's published private signing key (test data only)."""
    jwks = json.loads(read(VECTORS / "shc" / "keys" / "spec-example-issuer.jwks.private.json"))
    jwk = next(key for key in jwks["keys"] if key["kid"] == KID)
    d = int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=" * (-len(jwk["d"]) % 4)), "big")
    return SigningKey(purpose=SHC, kid=KID, private_key=ec.derive_private_key(d, ec.SECP256R1()))


def chunks() -> str:
    """Return the three chunk lines of example 02, one per line."""
    return "\n".join(
        read(EXAMPLES / f"example-02-f-qr-code-numeric-value-{i}.txt").strip() for i in range(3)
    )


def test_it_computes_the_example_kid_as_the_jwk_thumbprint() -> None:
    trust = example_trust()

    assert [key.kid for key in trust.keys] == [KID, "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw"]
    for key in trust.keys:
        assert isinstance(key.public_key, ec.EllipticCurvePublicKey)
        assert shc.jwk_thumbprint(key.public_key) == key.kid


def test_it_publishes_the_example_key_as_the_issuer_does() -> None:
    jwks = json.loads(read(EXAMPLES / "issuer" / ".well-known" / "jwks.json"))
    key = example_trust().keys[0].public_key
    assert isinstance(key, ec.EllipticCurvePublicKey)

    published = {k: v for k, v in jwks["keys"][0].items() if k != "crlVersion"}
    assert shc.public_jwk(key, KID) == published


@pytest.mark.parametrize(
    "name",
    [
        "example-00-d-jws.txt",
        "example-00-e-file.smart-health-card",
        "example-00-f-qr-code-numeric-value-0.txt",
        "example-02-d-jws.txt",
        "example-03-d-jws.txt",
        "example-03-f-qr-code-numeric-value-0.txt",
    ],
)
def test_it_accepts_the_spec_examples(name: str) -> None:
    verdict = shc.verify(read(EXAMPLES / name), example_trust(), at=AT)

    assert (verdict.status, verdict.reason, verdict.kid) == (Verdict.VALID, "", KID)
    assert verdict.summary is not None
    assert verdict.summary.issuer == ISSUER


def test_it_accepts_the_reassembled_chunks_of_example_02() -> None:
    verdict = shc.verify(chunks(), example_trust(), at=AT)

    assert verdict.status == Verdict.VALID


def test_it_summarises_example_00() -> None:
    verdict = shc.verify(
        read(EXAMPLES / "example-00-f-qr-code-numeric-value-0.txt"), example_trust(), at=AT
    )

    assert verdict.summary is not None
    assert verdict.summary.name == "John B. Anyperson"
    assert verdict.summary.birth_date == "1951-01-20"
    assert verdict.summary.issued_at == datetime(2023, 6, 22, 16, 19, 24, 656000, tzinfo=UTC)
    assert verdict.summary.expires_at is None
    assert [(d.vaccine, d.number, d.series, d.date) for d in verdict.summary.doses] == [
        ("Moderna COVID-19 (Spikevax)", 1, 0, "2021-01-01"),
        ("Moderna COVID-19 (Spikevax)", 2, 0, "2021-01-29"),
        ("Moderna COVID-19, bivalent", 3, 0, "2022-09-05"),
    ]


def test_it_reads_the_numeric_text_as_exactly_the_jws() -> None:
    jws = read(EXAMPLES / "example-00-d-jws.txt").strip()
    text = read(EXAMPLES / "example-00-f-qr-code-numeric-value-0.txt").strip()

    assert shc.compact(text) == jws
    assert shc.numeric(jws) == text
    assert shc.decode(text) == shc.decode(jws)


def test_it_reassembles_the_chunks_into_example_02() -> None:
    jws = read(EXAMPLES / "example-02-d-jws.txt").strip()

    assert shc.compact(chunks()) == jws
    # Chunks may come in any order; they are put back by their numbers.
    assert shc.compact("\n".join(reversed(chunks().splitlines()))) == jws


def test_it_refuses_an_incomplete_set_of_chunks() -> None:
    with pytest.raises(FormatError) as error:
        shc.decode("\n".join(chunks().splitlines()[:2]))

    assert error.value.reason == Reason.STRUCTURE


def test_it_reads_the_card_in_the_smart_health_card_file() -> None:
    document = json.loads(read(EXAMPLES / "example-00-e-file.smart-health-card"))

    assert (
        shc.compact(read(EXAMPLES / "example-00-e-file.smart-health-card"))
        == (document["verifiableCredential"][0])
    )
    assert document["verifiableCredential"][0] == read(EXAMPLES / "example-00-d-jws.txt").strip()


def test_it_inflates_example_00_to_the_minified_payload() -> None:
    minified = read(EXAMPLES / "example-00-c-jws-payload-minified.json").strip()
    jws = read(EXAMPLES / "example-00-d-jws.txt").strip()
    deflated = jws.split(".")[1]
    raw = zlib.decompress(base64.urlsafe_b64decode(deflated + "=" * (-len(deflated) % 4)), -15)

    assert raw.decode("utf-8") == minified
    assert shc.decode(jws) == json.loads(minified)
    assert json.dumps(shc.decode(jws), separators=(",", ":")) == minified


def test_it_writes_the_example_crl_as_published() -> None:
    published = example_crl()

    assert shc.crl(published["kid"], published["rids"], published["ctr"]) == published


def test_it_applies_the_example_crl() -> None:
    published = example_crl()
    trust = example_trust()
    trust.revoked_rids[published["kid"]] = set(published["rids"])

    # Example 03 ("Johnny Revoked", rid vwAjHdarZuc, nbf 1687450764.657) is listed as
    # "vwAjHdarZuc.1687450765": revoked, since it was issued before that second.
    revoked = shc.verify(read(EXAMPLES / "example-03-f-qr-code-numeric-value-0.txt"), trust, at=AT)
    assert (revoked.status, revoked.reason) == (Verdict.REVOKED, Reason.REVOKED)
    assert revoked.summary is not None
    assert revoked.summary.name == "Johnny Revoked"
    # Examples 00 (rid MKyCxh7p6uQ) and 02 (rid YjKhdFoxL_g) are not listed.
    for name in ("example-00-f-qr-code-numeric-value-0.txt", "example-02-d-jws.txt"):
        assert shc.verify(read(EXAMPLES / name), trust, at=AT).status == Verdict.VALID


def test_it_keeps_a_card_issued_after_the_crl_timestamp() -> None:
    content = shc.decode(read(EXAMPLES / "example-03-d-jws.txt"))
    trust = example_trust()
    trust.revoked_rids[KID] = set(example_crl()["rids"])
    key = example_signing_key()

    reissued = shc.sign({**content, "nbf": 1687450766}, key)
    assert shc.verify(reissued, trust, at=AT).status == Verdict.VALID
    trust.revoked_rids[KID] = {"vwAjHdarZuc"}
    assert shc.verify(reissued, trust, at=AT).status == Verdict.REVOKED


NEGATIVE_CASES = {
    "test-example-00-d-jws-der-signature.txt": Reason.SIGNATURE,
    "test-example-00-d-jws-invalid-signature.txt": Reason.SIGNATURE,
    "test-example-00-d-jws-issuer-kid-mismatch.txt": Reason.UNKNOWN_KEY,
    "test-example-00-d-jws-wrong_jws_header_kid.txt": Reason.UNKNOWN_KEY,
    "test-example-00-d-jws-no_jws_header_zip.txt": Reason.STRUCTURE,
    "test-example-00-d-jws-no_deflate.txt": Reason.STRUCTURE,
    "test-example-00-f-qr-code-numeric-value-0-wrong_qr_header.txt": Reason.PREFIX,
    "test-example-00-f-qr-code-numeric-value-0-odd-count.txt": Reason.ENCODING,
    "test-example-00-f-qr-code-numeric-value-0-number-too-big.txt": Reason.ENCODING,
}
RESIGNED_CASES = {
    "test-example-00-b-jws-payload-expanded-expired.json": Reason.EXPIRED,
    "test-example-00-b-jws-payload-expanded-nbf_not_yet_valid.json": Reason.NOT_YET_VALID,
}


def test_it_has_an_expectation_for_every_negative_vector() -> None:
    assert {path.name for path in NEGATIVE.iterdir()} == {*NEGATIVE_CASES, *RESIGNED_CASES}


@pytest.mark.parametrize(("name", "reason"), sorted(NEGATIVE_CASES.items()))
def test_it_refuses_the_negative_vectors(name: str, reason: str) -> None:
    verdict = shc.verify(read(NEGATIVE / name), example_trust(), at=AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, reason)
    assert verdict.summary is None


def test_it_refuses_a_der_signature_for_its_form() -> None:
    # The DER vector's signature would fail anyway; the detail shows it is refused unread.
    name = "test-example-00-d-jws-der-signature.txt"

    verdict = shc.verify(read(NEGATIVE / name), example_trust(), at=AT)

    assert verdict.detail == "signature is not 64 bytes r‖s"


@pytest.mark.parametrize(
    "name",
    [name for name, reason in NEGATIVE_CASES.items() if reason in (Reason.PREFIX, Reason.ENCODING)],
)
def test_it_refuses_to_decode_broken_qr_text(name: str) -> None:
    with pytest.raises(FormatError) as error:
        shc.decode(read(NEGATIVE / name))

    assert error.value.reason == NEGATIVE_CASES[name]


@pytest.mark.parametrize(("name", "reason"), sorted(RESIGNED_CASES.items()))
def test_it_refuses_resigned_payloads_out_of_their_time(name: str, reason: str) -> None:
    content = json.loads(read(NEGATIVE / name))
    signed = shc.sign(content, example_signing_key())

    verdict = shc.verify(signed, example_trust(), at=AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, reason)
    # The same payload signed the same way is accepted inside its window: only time refused it.
    inside = datetime.fromtimestamp(content["nbf"] + 0.5, UTC)
    assert shc.verify(signed, example_trust(), at=inside).status == Verdict.VALID


def test_it_refuses_a_key_trusted_for_another_issuer() -> None:
    key = example_trust().keys[0]
    trust = Trust(
        keys=[
            TrustedKey(
                purpose=SHC, kid=KID, public_key=key.public_key, issuer="https://other.example"
            )
        ]
    )

    verdict = shc.verify(read(EXAMPLES / "example-00-d-jws.txt"), trust, at=AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.UNKNOWN_KEY)


def test_it_refuses_a_card_issued_after_its_key_was_retired() -> None:
    key = example_trust().keys[0]
    retired = datetime(2023, 1, 1, tzinfo=UTC)
    trust = Trust(
        keys=[TrustedKey(purpose=SHC, kid=KID, public_key=key.public_key, not_after=retired)]
    )

    verdict = shc.verify(read(EXAMPLES / "example-00-d-jws.txt"), trust, at=AT)

    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.KEY_EXPIRED)


def read_qr(code: QrSymbol) -> str:
    """Return the text zxing-cpp reads from a QR code rendered as PNG."""
    barcode = zxingcpp.read_barcode(Image.open(io.BytesIO(code.png())))
    assert barcode is not None
    return str(barcode.text)


def test_it_draws_example_00_as_one_two_segment_qr_code() -> None:
    text = read(EXAMPLES / "example-00-f-qr-code-numeric-value-0.txt").strip()

    code = shc.qr(text)

    assert code.version <= 22
    assert code.error == "L"
    assert read_qr(code) == text
    # The numeric segment is what makes it fit: all in byte mode it would need version 29.
    assert segno.make(text, error="l", boost_error=False).version == 29
