"""SMART Health Cards: a minimised FHIR R4 bundle in a compressed ES256 JWS, as `shc:/` QR text.

The steps, each checked by `decode` and `verify` in the same order:

- the bundle goes into the `vc` claim of a JWT payload, minified and raw-DEFLATEd;
- the JWS header is `{"zip":"DEF","alg":"ES256","kid":…}`, the kid being the RFC 7638
  thumbprint of the issuer's P-256 key; the signature is the 64-byte `r‖s` pair;
- the compact JWS becomes digits, two per character (`ord(c) - 45`), after `shc:/`, and goes
  into one QR code of version 22 or less: a byte segment for the prefix, a numeric one for the
  digits.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    encode_dss_signature,
)

from vaxnet.certificates.formats.base import (
    COMPRESSED_MASK,
    SHC,
    DoseSummary,
    FormatError,
    Reason,
    SigningKey,
    Summary,
    Trust,
    TrustedKey,
    Verdict,
    b64url,
    es256_sign,
)
from vaxnet.certificates.record import CertificateRecord
from vaxnet.core.qr import QrSymbol, qr_make

PREFIX = "shc:/"
# A version 22 QR code at error level L holds 2,390 digits in its numeric segment: 1,195
# JWS characters. The spec makes this the limit for a card meant to be shown as one QR.
MAX_JWS_CHARS = 1195
MAX_QR_VERSION = 22
# Deflated payloads of real cards are about 1 kB; refusing to inflate past this bounds the
# memory a hostile QR can make a verifier spend.
MAX_PAYLOAD_BYTES = 256 * 1024

FHIR_VERSION = "4.0.1"
CVX = "http://hl7.org/fhir/sid/cvx"
SNOMED = "http://snomed.info/sct"
TYPE_HEALTH_CARD = "https://smarthealth.cards#health-card"
TYPE_IMMUNIZATION = "https://smarthealth.cards#immunization"
TYPE_COVID19 = "https://smarthealth.cards#covid19"

# Readable names for the CVX codes of the COVID-19 vaccines a verifier meets most; any other
# code is shown as it stands. Names are product names, so they are not translated.
CVX_NAMES = {
    "207": "Moderna COVID-19 (Spikevax)",
    "208": "Pfizer-BioNTech COVID-19 (Comirnaty)",
    "210": "AstraZeneca COVID-19 (ChAdOx1-S: Vaxzevria, Covishield)",
    "211": "Novavax COVID-19 (Nuvaxovid)",
    "212": "Janssen COVID-19",
    "213": "COVID-19 vaccine, unspecified",
    "229": "Moderna COVID-19, bivalent",
    "300": "Pfizer-BioNTech COVID-19, bivalent",
    "502": "COVAXIN (Bharat Biotech)",
    "505": "Sputnik V (Gamaleya)",
    "506": "Convidecia (CanSino)",
    "510": "Sinopharm BIBP COVID-19",
    "511": "CoronaVac (Sinovac)",
    # Routine immunisation, as the packs code it.
    "04": "Measles and rubella (MR)",
    "10": "Inactivated polio (IPV)",
    "19": "BCG",
    "37": "Yellow fever",
    "102": "DTP-Hib-Hepatitis B (pentavalent)",
    "122": "Rotavirus",
    "137": "HPV",
    "177": "Pneumococcal conjugate (PCV10)",
    "178": "Bivalent oral polio (bOPV)",
}
# SNOMED CT vaccine concepts, for doses a pack codes without CVX (the EU DCC value set's names).
SNOMED_NAMES = {
    "1119305005": "SARS-CoV-2 antigen vaccine",
    "1119349007": "SARS-CoV-2 mRNA vaccine",
    "1157024006": "Inactivated whole SARS-CoV-2 antigen vaccine",
    "1162643001": "SARS-CoV-2 recombinant spike protein antigen vaccine",
    "28531000087107": "COVID-19 vaccine",
    "29061000087103": "COVID-19 non-replicating viral vector vaccine",
}

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_QR_LINE = re.compile(r"(?:(\d+)/(\d+)/)?(\d*)")
# The characters of a compact JWS: base64url and the dot, ord 45 ("-") to 122 ("z").
_LOWEST, _HIGHEST = 45, 122


def _b64decode(text: str) -> bytes:
    """Return the bytes of base64url text without padding; raise ENCODING when broken."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise FormatError(Reason.ENCODING, "not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise FormatError(Reason.ENCODING, "not base64url") from exc


def _minified(data: Any) -> bytes:
    """Return JSON without whitespace, as UTF-8."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _coordinates(public_key: ec.EllipticCurvePublicKey) -> tuple[str, str]:
    """Return the base64url x and y of a P-256 public key."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise ValueError("SMART Health Cards use P-256 keys only")
    numbers = public_key.public_numbers()
    return b64url(numbers.x.to_bytes(32, "big")), b64url(numbers.y.to_bytes(32, "big"))


def jwk_thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """Return the RFC 7638 thumbprint of a P-256 key: the kid SMART Health Cards use."""
    x, y = _coordinates(public_key)
    # RFC 7638: the required members only, in lexicographic order, no whitespace.
    canonical = _minified({"crv": "P-256", "kty": "EC", "x": x, "y": y})
    return b64url(hashlib.sha256(canonical).digest())


def public_jwk(public_key: ec.EllipticCurvePublicKey, kid: str) -> dict[str, str]:
    """Return the public JWK an issuer publishes in its `/.well-known/jwks.json`."""
    x, y = _coordinates(public_key)
    return {
        "kty": "EC",
        "kid": kid,
        "use": "sig",
        "alg": "ES256",
        "crv": "P-256",
        "x": x,
        "y": y,
    }


def public_key_from_jwk(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """Return the P-256 public key of a JWK; raise ValueError for any other key."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("not a P-256 EC key")
    x = int.from_bytes(_b64decode(str(jwk["x"])), "big")
    y = int.from_bytes(_b64decode(str(jwk["y"])), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def trusted_keys(jwks: dict[str, Any], issuer: str) -> list[TrustedKey]:
    """Return the signing keys of an issuer's JWK set as trusted keys bound to its `iss`."""
    keys = []
    for jwk in jwks.get("keys", []):
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
            continue
        keys.append(
            TrustedKey(
                purpose=SHC,
                kid=str(jwk["kid"]),
                public_key=public_key_from_jwk(jwk),
                issuer=issuer,
            )
        )
    return keys


def revocation_id(certificate_id: str, secret: bytes) -> str:
    """Return the card's `rid`: base64url of the first 8 bytes of HMAC-SHA256 of its id."""
    digest = hmac.new(secret, certificate_id.encode("utf-8"), hashlib.sha256).digest()
    return b64url(digest[:8])


def crl(kid: str, rids: Iterable[str], ctr: int) -> dict[str, Any]:
    """Return the card revocation list of one key, as served at `/.well-known/crl/<kid>.json`."""
    return {"kid": kid, "method": "rid", "ctr": ctr, "rids": list(rids)}


def bundle(record: CertificateRecord) -> dict[str, Any]:
    """Return the record as a FHIR R4 collection bundle, minimised for a health card."""
    # The record has one registered name, in its original script; splitting it into given
    # and family names would guess wrongly for many names, so the whole name is the family.
    patient = {
        "resourceType": "Patient",
        "name": [{"family": record.name}],
        "birthDate": record.birth_date,
    }
    entries: list[dict[str, Any]] = [{"fullUrl": "resource:0", "resource": patient}]
    for index, dose in enumerate(record.doses, start=1):
        if dose.codes.get("cvx"):
            coding = {"system": CVX, "code": dose.codes["cvx"]}
        elif dose.codes.get("snomed"):
            coding = {"system": SNOMED, "code": dose.codes["snomed"]}
        else:
            raise FormatError(Reason.SCHEMA, f"no CVX or SNOMED code for {dose.vaccine_code}")
        immunization: dict[str, Any] = {
            "resourceType": "Immunization",
            "status": "completed",
            "vaccineCode": {"coding": [coding]},
            "patient": {"reference": "resource:0"},
            "occurrenceDateTime": dose.given_on.isoformat(),
        }
        if dose.facility:
            immunization["performer"] = [{"actor": {"display": dose.facility}}]
        if dose.lot:
            immunization["lotNumber"] = dose.lot
        entries.append({"fullUrl": f"resource:{index}", "resource": immunization})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def payload(record: CertificateRecord, *, rid: str | None = None) -> dict[str, Any]:
    """Return the JWT payload of a record's health card."""
    types = [TYPE_HEALTH_CARD, TYPE_IMMUNIZATION]
    if record.target == "covid19":
        types.append(TYPE_COVID19)
    vc: dict[str, Any] = {
        "type": types,
        "credentialSubject": {"fhirVersion": FHIR_VERSION, "fhirBundle": bundle(record)},
    }
    if rid is not None:
        if not _B64URL.fullmatch(rid) or not 0 < len(rid) <= 24:
            raise ValueError("a rid is 1 to 24 base64url characters")
        vc["rid"] = rid
    return {"iss": record.issuer_url, "nbf": int(record.issued_at.timestamp()), "vc": vc}


def sign(content: dict[str, Any], key: SigningKey) -> str:
    """Return the compact JWS of a payload, deflated and signed with ES256."""
    private_key = key.private_key
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise ValueError("SMART Health Cards are signed with a P-256 key")
    header = b64url(_minified({"zip": "DEF", "alg": "ES256", "kid": key.kid}))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(_minified(content)) + compressor.flush()
    signing_input = f"{header}.{b64url(deflated)}"
    return f"{signing_input}.{b64url(es256_sign(private_key, signing_input.encode('ascii')))}"


def jws(record: CertificateRecord, key: SigningKey, rid: str | None = None) -> str:
    """Return the compact JWS of a record's health card."""
    return sign(payload(record, rid=rid), key)


def numeric(signed: str) -> str:
    """Return the `shc:/` text of a compact JWS: two digits per character."""
    if any(not _LOWEST <= ord(char) <= _HIGHEST for char in signed):
        raise FormatError(Reason.ENCODING, "not a compact JWS")
    return PREFIX + "".join(f"{ord(char) - _LOWEST:02d}" for char in signed)


def encode(record: CertificateRecord, key: SigningKey, *, rid: str | None = None) -> str:
    """Return the `shc:/` QR text of a record, signed with the key."""
    signed = jws(record, key, rid)
    if len(signed) > MAX_JWS_CHARS:
        raise FormatError(
            Reason.STRUCTURE, f"too large: {len(signed)} JWS characters for one QR code"
        )
    return numeric(signed)


def qr(text: str) -> QrSymbol:
    """Return the QR code of `shc:/` text: a byte segment, a numeric segment, error level L."""
    digits = text[len(PREFIX) :]
    if not text.startswith(PREFIX) or not digits.isdigit() or not digits.isascii():
        raise FormatError(Reason.ENCODING, "not single-QR shc:/ text")
    # The encoder segments the text itself: the prefix in byte mode, the digits numeric.
    # The spec fixes level L: a higher one would push long cards past version 22.
    code = qr_make(text, error="L", mask=COMPRESSED_MASK)
    if code.version > MAX_QR_VERSION:
        raise FormatError(Reason.STRUCTURE, f"too large: QR version {code.version}")
    return code


def _from_digits(digits: str) -> str:
    """Return the JWS characters of the digits after `shc:/`."""
    if len(digits) % 2:
        raise FormatError(Reason.ENCODING, "odd number of digits")
    chars = []
    for start in range(0, len(digits), 2):
        value = int(digits[start : start + 2])
        if value > _HIGHEST - _LOWEST:
            raise FormatError(Reason.ENCODING, f"digit pair {value} is over 77")
        chars.append(chr(value + _LOWEST))
    return "".join(chars)


def _from_qr_text(text: str) -> str:
    """Return the compact JWS of one `shc:/` line, or of all chunks of a chunked card."""
    parts: dict[int, str] = {}
    total = 0
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if not line.lower().startswith(PREFIX):
            raise FormatError(Reason.PREFIX, "expected shc:/")
        match = _QR_LINE.fullmatch(line[len(PREFIX) :])
        if match is None:
            raise FormatError(Reason.ENCODING, "not digits after shc:/")
        index, count, digits = match.groups()
        if index is None:
            if len(lines) > 1:
                raise FormatError(Reason.STRUCTURE, "several unchunked cards")
            return _from_digits(digits)
        # Chunking was deprecated in spec 1.3.0; cards made before still circulate.
        number, of = int(index), int(count)
        if of < 1 or not 1 <= number <= of or (total and of != total) or number in parts:
            raise FormatError(Reason.STRUCTURE, "inconsistent chunk numbers")
        total = of
        parts[number] = digits
    if not parts or len(parts) != total:
        raise FormatError(Reason.STRUCTURE, f"{len(parts)} of {total} chunks")
    return _from_digits("".join(parts[number] for number in range(1, total + 1)))


def compact(text: str) -> str:
    """Return the compact JWS in QR text, a `.smart-health-card` file, or a JWS itself."""
    text = text.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
            credentials = document["verifiableCredential"]
        except (ValueError, TypeError, KeyError) as exc:
            raise FormatError(Reason.STRUCTURE, "not a .smart-health-card file") from exc
        if not isinstance(credentials, list) or not credentials:
            raise FormatError(Reason.STRUCTURE, "no verifiableCredential")
        # A file may hold several cards; a verifier is handed one at a time, the first.
        if not isinstance(credentials[0], str):
            raise FormatError(Reason.STRUCTURE, "verifiableCredential is not a JWS")
        return credentials[0].strip()
    if text[:4].lower() == "shc:":
        return _from_qr_text(text)
    return text


class _Card:
    """A health card taken apart: header, payload, and what the signature covers."""

    def __init__(self, text: str) -> None:
        jws_text = compact(text)
        pieces = jws_text.split(".")
        if len(pieces) != 3:
            raise FormatError(Reason.STRUCTURE, "a compact JWS has three parts")
        raw_header, raw_payload, raw_signature = (_b64decode(piece) for piece in pieces)
        try:
            header = json.loads(raw_header)
        except ValueError as exc:
            raise FormatError(Reason.STRUCTURE, "JWS header is not JSON") from exc
        if not isinstance(header, dict):
            raise FormatError(Reason.STRUCTURE, "JWS header is not an object")
        if header.get("zip") != "DEF":
            raise FormatError(Reason.STRUCTURE, 'JWS header lacks "zip":"DEF"')
        inflater = zlib.decompressobj(-15)
        try:
            inflated = inflater.decompress(raw_payload, MAX_PAYLOAD_BYTES)
        except zlib.error as exc:
            raise FormatError(Reason.COMPRESSION, str(exc)) from exc
        if inflater.unconsumed_tail:
            raise FormatError(Reason.COMPRESSION, "payload inflates past the size limit")
        if not inflater.eof or inflater.unused_data:
            raise FormatError(Reason.COMPRESSION, "not one complete raw DEFLATE stream")
        try:
            content = json.loads(inflated)
        except ValueError as exc:
            raise FormatError(Reason.STRUCTURE, "payload is not JSON") from exc
        if not isinstance(content, dict):
            raise FormatError(Reason.STRUCTURE, "payload is not an object")
        self.header: dict[str, Any] = header
        self.payload: dict[str, Any] = content
        self.signing_input = f"{pieces[0]}.{pieces[1]}".encode("ascii")
        self.signature = raw_signature


def decode(text: str) -> dict[str, Any]:
    """Return the payload of a health card, unverified; raise FormatError when unreadable."""
    return _Card(text).payload


def _vaccine(resource: dict[str, Any]) -> str:
    """Return a readable vaccine name for an Immunization, or its code."""
    codings = resource.get("vaccineCode", {}).get("coding", [])
    for coding in codings:
        code = str(coding.get("code", ""))
        if coding.get("system") == CVX:
            return CVX_NAMES.get(code, code)
        if coding.get("system") == SNOMED:
            return SNOMED_NAMES.get(code, code)
    return str(codings[0].get("code", "")) if codings else ""


def _person_name(patient: dict[str, Any]) -> str:
    """Return a Patient's first name as one string."""
    names = patient.get("name") or [{}]
    name = names[0]
    parts = [*name.get("given", []), name.get("family", "")]
    joined = " ".join(str(part) for part in parts if part)
    return joined or str(name.get("text", ""))


def _summary(content: dict[str, Any], issued_at: datetime, expires_at: datetime | None) -> Summary:
    """Return what a verifier shows of a health card's payload."""
    entries = content["vc"]["credentialSubject"]["fhirBundle"]["entry"]
    resources = [entry["resource"] for entry in entries]
    patient: dict[str, Any] = next((r for r in resources if r.get("resourceType") == "Patient"), {})
    given = sorted(
        (
            r
            for r in resources
            if r.get("resourceType") == "Immunization" and r.get("status") == "completed"
        ),
        key=lambda r: str(r.get("occurrenceDateTime", "")),
    )
    doses = tuple(
        DoseSummary(
            vaccine=_vaccine(resource),
            number=number,
            # A health card does not say how many doses the schedule has: 0 is "not said".
            series=0,
            date=str(resource.get("occurrenceDateTime", ""))[:10],
        )
        for number, resource in enumerate(given, start=1)
    )
    return Summary(
        name=_person_name(patient),
        birth_date=str(patient.get("birthDate", "")),
        doses=doses,
        issuer=str(content["iss"]),
        issued_at=issued_at,
        expires_at=expires_at,
    )


def _is_revoked(rid: Any, nbf: float, entries: Iterable[str]) -> bool:
    """Return whether a CRL lists the rid, for a card issued at nbf."""
    if not isinstance(rid, str):
        return False
    for entry in entries:
        listed, _, until = entry.partition(".")
        if listed != rid:
            continue
        # "rid.TIMESTAMP" revokes only the cards issued before that moment.
        if not until:
            return True
        try:
            if nbf < float(until):
                return True
        except ValueError:
            return True  # a malformed suffix must not let a revoked card through
    return False


def _epoch(value: Any, claim: str) -> float:
    """Return a NumericDate claim; raise SCHEMA when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(Reason.SCHEMA, f"{claim} is not a number")
    return float(value)


def verify(text: str, trust: Trust, *, at: datetime) -> Verdict:
    """Return whether a health card is valid at a time, and what it says; never raise."""
    try:
        card = _Card(text)
    except FormatError as exc:
        return Verdict.invalid(SHC, exc.reason, exc.detail)
    header, content = card.header, card.payload
    kid = header.get("kid")
    if header.get("alg") != "ES256" or not isinstance(kid, str):
        return Verdict.invalid(SHC, Reason.STRUCTURE, "JWS header needs alg ES256 and a kid")
    trusted = trust.find(SHC, kid)
    if trusted is None:
        return Verdict.invalid(SHC, Reason.UNKNOWN_KEY, f"no trusted key {kid}", kid=kid)
    if trusted.issuer and content.get("iss") != trusted.issuer:
        return Verdict.invalid(
            SHC, Reason.UNKNOWN_KEY, f"key {kid} is not {content.get('iss')!r}'s", kid=kid
        )
    public_key = trusted.public_key
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return Verdict.invalid(SHC, Reason.SIGNATURE, "trusted key is not an EC key", kid=kid)
    # JWS carries r‖s; a DER signature, which some libraries emit by mistake, is refused.
    if len(card.signature) != 64:
        return Verdict.invalid(SHC, Reason.SIGNATURE, "signature is not 64 bytes r‖s", kid=kid)
    der = encode_dss_signature(
        int.from_bytes(card.signature[:32], "big"), int.from_bytes(card.signature[32:], "big")
    )
    try:
        public_key.verify(der, card.signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return Verdict.invalid(SHC, Reason.SIGNATURE, "signature does not verify", kid=kid)

    try:
        nbf = _epoch(content.get("nbf"), "nbf")
        exp = _epoch(content["exp"], "exp") if "exp" in content else None
        issued_at = datetime.fromtimestamp(nbf, UTC)
        expires_at = datetime.fromtimestamp(exp, UTC) if exp is not None else None
        summary = _summary(content, issued_at, expires_at)
        rid = content["vc"].get("rid")
    except FormatError as exc:
        return Verdict.invalid(SHC, exc.reason, exc.detail, kid=kid)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, OverflowError) as exc:
        return Verdict.invalid(SHC, Reason.SCHEMA, f"payload: {exc!r}", kid=kid)

    now = at.timestamp()
    if nbf > now:
        return Verdict.invalid(SHC, Reason.NOT_YET_VALID, f"nbf {nbf}", kid=kid, summary=summary)
    if exp is not None and exp < now:
        return Verdict.invalid(SHC, Reason.EXPIRED, f"exp {exp}", kid=kid, summary=summary)
    if (trusted.not_before and issued_at < trusted.not_before) or (
        trusted.not_after and issued_at > trusted.not_after
    ):
        return Verdict.invalid(
            SHC, Reason.KEY_EXPIRED, "issued outside the key's validity", kid=kid, summary=summary
        )
    if _is_revoked(rid, nbf, trust.revoked_rids.get(kid, ())):
        return Verdict.revoked(SHC, summary, kid, detail=f"rid {rid}")
    return Verdict(status=Verdict.VALID, format=SHC, summary=summary, kid=kid)
