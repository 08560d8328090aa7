"""The W3C Verifiable Credential as DIVOC and CoWIN issued it: a `ProofOfVaccinationCredential`.

The credential uses the W3C credentials and CoWIN vaccination JSON-LD contexts, read from our
own files (never from the network), and carries a Linked Data proof of the 2018 suites:
Ed25519Signature2018 (EdDSA) or RsaSignature2018 (PS256), a detached JWS with `b64: false`
over SHA-256(URDNA2015 of the proof options) ‖ SHA-256(URDNA2015 of the document).

In the QR, DIVOC puts a ZIP archive holding one DEFLATEd `certificate.json` as raw bytes in a
byte-mode code; the text form used by the WHO test vectors is "B64:" + base64 of those bytes.
"""

import base64
import binascii
import functools
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from pyld.context_resolver import ContextResolver
from pyld.jsonld import JsonLdError, JsonLdProcessor

from vaxnet.certificates.formats.base import (
    COMPRESSED_MASK,
    W3C_VC,
    DoseSummary,
    FormatError,
    Reason,
    SigningKey,
    Summary,
    Trust,
    Verdict,
    b64url,
)
from vaxnet.certificates.record import CertificateRecord
from vaxnet.core.qr import QrSymbol, qr_make

CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
VACCINATION_V1 = "https://cowin.gov.in/credentials/vaccination/v1"
SECURITY_V2 = "https://w3id.org/security/v2"

CONTEXT_DIR = Path(__file__).resolve().parent.parent / "contexts"

# The JSON-LD contexts a verifier resolves, by URL, as published (copied byte for byte).
CONTEXTS: dict[str, str] = {
    CREDENTIALS_V1: "credentials-v1.jsonld",
    VACCINATION_V1: "cowin-vaccination-v1.jsonld",
    "https://cowin.gov.in/credentials/vaccination/v2": "cowin-vaccination-v2.jsonld",
    # Indonesia's DIVOC names its own URL for the same vocabulary; its published test
    # certificate verifies against the CoWIN v2 terms, so the same file serves it.
    "https://www.pedulilindungi.id/credentials/vaccination/v2": "cowin-vaccination-v2.jsonld",
    "https://w3id.org/security/v1": "security-v1.jsonld",
    SECURITY_V2: "security-v2.jsonld",
}

ED25519 = "Ed25519Signature2018"
RSA = "RsaSignature2018"
ALGORITHMS = {ED25519: "EdDSA", RSA: "PS256"}

ENTRY = "certificate.json"
# A QR holds under 3 kB; anything that inflates far beyond that is not a certificate.
MAX_JSON_BYTES = 256 * 1024

GENDERS = {"male": "Male", "female": "Female", "other": "Other"}

# Resolved contexts, shared across calls: only the fixed set of files above ever enters it,
# because credentials naming anything else are refused before JSON-LD processing.
_resolved_contexts: dict[str, Any] = {}


@functools.cache
def _context_text(url: str) -> str:
    """Return the text of a known context file."""
    return (CONTEXT_DIR / CONTEXTS[url]).read_text(encoding="utf-8")


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a known JSON-LD context from our files; refuse every other URL."""
    if url not in CONTEXTS:
        raise FormatError(Reason.STRUCTURE, f"unknown JSON-LD context {url}")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(_context_text(url)),
        # pyld keeps a resolved context across calls only when its document is tagged static.
        "tag": "static",
    }


def _refuse_dropped(term: str | None) -> None:
    """Refuse a property the contexts do not define (JSON-LD safe mode)."""
    # A dropped property is not signed, so a verifier must not show or trust it.
    raise FormatError(Reason.STRUCTURE, f"term not defined by the contexts: {term}")


def canonical(document: dict[str, Any]) -> str:
    """Return the URDNA2015 N-Quads of a JSON-LD document, loading contexts offline."""
    processor = JsonLdProcessor(on_property_dropped=_refuse_dropped)
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_resolved_contexts, document_loader),
    }
    try:
        return str(processor.normalize(document, options))
    except JsonLdError as error:
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, FormatError):
                raise cause from error
            cause = cause.__cause__ or cause.__context__
        raise FormatError(Reason.STRUCTURE, f"JSON-LD: {error}") from error


def _verify_data(document: dict[str, Any], proof: dict[str, Any]) -> bytes:
    """Return the bytes a 2018 suite signs: hash of the proof options, then of the document."""
    # DIVOC signed with jsonld-signatures, which gives the proof options the security v2
    # context. The document's own context would not do: the credentials v1 context leaves
    # the `sec:` prefix undefined inside RsaSignature2018, so CoWIN's proofs verify only so.
    options = {key: value for key, value in proof.items() if key != "jws"}
    options["@context"] = SECURITY_V2
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    return (
        hashlib.sha256(canonical(options).encode()).digest()
        + hashlib.sha256(canonical(unsigned).encode()).digest()
    )


def _unb64url(text: str) -> bytes:
    """Return the bytes of unpadded base64url text."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as error:
        raise FormatError(Reason.STRUCTURE, "JWS is not base64url") from error


def _utc(moment: datetime) -> datetime:
    """Return an aware datetime in UTC; refuse naive ones."""
    if moment.tzinfo is None:
        raise ValueError("aware datetime required")
    return moment.astimezone(UTC)


def _age(birth_date: str, on: date) -> int:
    """Return the whole years from a birth date (or year) to a day."""
    if len(birth_date) == 4:
        return on.year - int(birth_date)
    born = date.fromisoformat(birth_date)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _certificate_suffix(certificate_id: str) -> str:
    """Return the opaque part of a UVCI, made safe for a URL path segment."""
    return quote(certificate_id.rsplit(":", 1)[-1], safe="")


def credential(record: CertificateRecord) -> dict[str, Any]:
    """Return the unsigned credential for a record."""
    issued = _utc(record.issued_at)
    last = record.last_dose
    suffix = _certificate_suffix(record.certificate_id)
    evidence = []
    for position, dose in enumerate(record.doses, start=1):
        evidence.append(
            {
                # Each dose gets its own IRI: entries sharing one would merge into a single
                # RDF node, and the signature would no longer bind a lot to its dose.
                "id": f"{record.issuer_url}/vaccine/{suffix}/{position}",
                "type": ["Vaccination"],
                "certificateId": record.certificate_id,
                "batch": dose.lot,
                "vaccine": dose.vaccine_name,
                "manufacturer": dose.manufacturer,
                # CoWIN gave the moment of vaccination; we keep the day, at midnight UTC.
                "date": f"{dose.given_on.isoformat()}T00:00:00.000Z",
                "effectiveStart": dose.given_on.isoformat(),
                "effectiveUntil": dose.given_on.isoformat(),
                "dose": dose.number,
                "totalDoses": dose.series,
                "verifier": {"name": dose.facility},
                "facility": {
                    "name": dose.facility,
                    "address": {"district": dose.region, "addressCountry": dose.country},
                },
            }
        )
    return {
        "@context": [CREDENTIALS_V1, VACCINATION_V1],
        "type": ["VerifiableCredential", "ProofOfVaccinationCredential"],
        "credentialSubject": {
            "type": "Person",
            "id": f"did:vaxnet:{quote(record.reference, safe='')}",
            "refId": record.reference,
            "name": record.name,
            "gender": GENDERS.get(record.sex, "Other"),
            # CoWIN wrote the age as a string; verifier apps display it as they get it.
            "age": str(_age(record.birth_date, issued.date())),
            "nationality": record.issuer_country,
            "address": {"district": last.region, "addressCountry": record.issuer_country},
        },
        "issuer": f"{record.issuer_url}/",
        "issuanceDate": _iso_millis(issued),
        "evidence": evidence,
        "nonTransferable": "true",
    }


def _iso_millis(moment: datetime) -> str:
    """Return a UTC datetime as CoWIN wrote it: milliseconds and Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _header(alg: str) -> str:
    """Return the base64url JWS header of a detached, unencoded-payload signature."""
    header = {"alg": alg, "b64": False, "crit": ["b64"]}
    return b64url(json.dumps(header, separators=(",", ":")).encode())


def _pss() -> padding.PSS:
    """Return the PS256 padding: MGF1 with SHA-256, salt as long as the hash."""
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def sign(credential: dict[str, Any], key: SigningKey, *, created: datetime) -> dict[str, Any]:
    """Return the credential with a Linked Data proof made with a key."""
    if not key.key_id_url:
        raise ValueError("the signing key has no verification method URL")
    private = key.private_key
    if isinstance(private, ed25519.Ed25519PrivateKey):
        suite = ED25519
    elif isinstance(private, rsa.RSAPrivateKey):
        suite = RSA
    else:
        raise ValueError("W3C credentials are signed with Ed25519 or RSA keys")
    document = {name: value for name, value in credential.items() if name != "proof"}
    proof: dict[str, Any] = {
        "type": suite,
        "created": _utc(created).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": key.key_id_url,
        "proofPurpose": "assertionMethod",
    }
    header = _header(ALGORITHMS[suite])
    signing_input = header.encode("ascii") + b"." + _verify_data(document, proof)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        signature = private.sign(signing_input)
    else:
        signature = private.sign(signing_input, _pss(), hashes.SHA256())
    proof["jws"] = f"{header}..{b64url(signature)}"
    return {**document, "proof": proof}


def encode(record: CertificateRecord, key: SigningKey) -> str:
    """Return the signed credential as compact JSON: the content of certificate.json."""
    signed = sign(credential(record), key, created=record.issued_at)
    return json.dumps(signed, ensure_ascii=False, separators=(",", ":"))


def qr_bytes(signed_json: str) -> bytes:
    """Return the ZIP archive DIVOC puts in the QR: one DEFLATEd certificate.json."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        # A fixed timestamp keeps the archive, and so the QR, the same for the same text.
        info = zipfile.ZipInfo(ENTRY, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, signed_json.encode("utf-8"))
    return buffer.getvalue()


def qr_text(signed_json: str) -> str:
    """Return the text form of the QR content: "B64:" and base64 of the ZIP archive."""
    return "B64:" + base64.b64encode(qr_bytes(signed_json)).decode("ascii")


def qr(signed_json: str) -> QrSymbol:
    """Return the byte-mode QR code of the ZIP archive, error correction level M."""
    return qr_make(qr_bytes(signed_json), error="M", mask=COMPRESSED_MASK)


def _unzip(data: bytes) -> bytes:
    """Return certificate.json from a DIVOC ZIP archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            try:
                info = zf.getinfo(ENTRY)
            except KeyError as error:
                raise FormatError(Reason.STRUCTURE, f"no {ENTRY} in the archive") from error
            if info.file_size > MAX_JSON_BYTES:
                raise FormatError(Reason.COMPRESSION, "certificate.json is too large")
            with zf.open(info) as entry:
                # The header's size can lie; read no more than the limit allows.
                content = entry.read(MAX_JSON_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        raise FormatError(Reason.COMPRESSION, f"broken ZIP archive: {error}") from error
    if len(content) > MAX_JSON_BYTES:
        raise FormatError(Reason.COMPRESSION, "certificate.json is too large")
    return content


def _parse_json(content: bytes | str) -> dict[str, Any]:
    """Return a JSON object, or refuse the content."""
    try:
        value = json.loads(content)
    except (ValueError, RecursionError) as error:
        raise FormatError(Reason.STRUCTURE, "not JSON") from error
    if not isinstance(value, dict):
        raise FormatError(Reason.STRUCTURE, "not a JSON object")
    return value


def decode(data: str | bytes) -> dict[str, Any]:
    """Return the credential in ZIP bytes, "B64:" text or JSON text, unverified."""
    if isinstance(data, bytes | bytearray):
        if data[:2] == b"PK":
            return _parse_json(_unzip(bytes(data)))
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise FormatError(Reason.PREFIX, "neither a ZIP archive nor text") from error
    text = data.strip()
    if text.startswith("B64:"):
        try:
            raw = base64.b64decode(text[4:], validate=True)
        except (binascii.Error, ValueError) as error:
            raise FormatError(Reason.ENCODING, "broken base64") from error
        if raw[:2] != b"PK":
            raise FormatError(Reason.COMPRESSION, "not a ZIP archive")
        return _parse_json(_unzip(raw))
    if text.startswith("{"):
        if len(text) > MAX_JSON_BYTES:
            raise FormatError(Reason.STRUCTURE, "too large")
        return _parse_json(text)
    raise FormatError(Reason.PREFIX, "not a DIVOC credential")


def _text(value: Any, what: str) -> str:
    """Return a string field, or refuse the credential."""
    if not isinstance(value, str):
        raise FormatError(Reason.STRUCTURE, f"{what} must be a string")
    return value


def _moment(value: Any, what: str) -> datetime:
    """Return an aware datetime from ISO text, or refuse the credential."""
    try:
        moment = datetime.fromisoformat(_text(value, what))
    except ValueError as error:
        raise FormatError(Reason.STRUCTURE, f"{what} is not a date and time") from error
    if moment.tzinfo is None:
        raise FormatError(Reason.STRUCTURE, f"{what} has no time zone")
    return moment.astimezone(UTC)


def _check_shape(document: dict[str, Any]) -> dict[str, Any]:
    """Return the proof after checking what the verifier relies on; refuse anything else."""
    contexts = document.get("@context")
    if (
        not isinstance(contexts, list)
        or not contexts
        or contexts[0] != CREDENTIALS_V1
        or not all(isinstance(url, str) and url in CONTEXTS for url in contexts)
    ):
        # Only our own files may define the terms: no inline or unknown contexts.
        raise FormatError(Reason.STRUCTURE, "unsupported @context")
    types = document.get("type")
    if not isinstance(types, list) or "ProofOfVaccinationCredential" not in types:
        raise FormatError(Reason.STRUCTURE, "not a ProofOfVaccinationCredential")
    if not isinstance(document.get("credentialSubject"), dict):
        raise FormatError(Reason.STRUCTURE, "no credentialSubject")
    evidence = document.get("evidence")
    if not isinstance(evidence, list) or not evidence:
        raise FormatError(Reason.STRUCTURE, "no evidence")
    ids = []
    for entry in evidence:
        if not isinstance(entry, dict):
            raise FormatError(Reason.STRUCTURE, "evidence entries must be objects")
        if "id" in entry:
            ids.append(entry["id"])
    if len(ids) != len(set(map(str, ids))):
        # Entries with one id are one RDF node: the signature would not tie fields to a dose.
        raise FormatError(Reason.STRUCTURE, "evidence entries share an id")
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise FormatError(Reason.STRUCTURE, "no proof")
    if proof.get("type") not in ALGORITHMS:
        raise FormatError(Reason.STRUCTURE, "unsupported proof type")
    if proof.get("proofPurpose") != "assertionMethod":
        raise FormatError(Reason.STRUCTURE, "proof purpose is not assertionMethod")
    _text(proof.get("verificationMethod"), "verificationMethod")
    _text(proof.get("jws"), "jws")
    _moment(proof.get("created"), "created")
    return proof


def _signature(proof: dict[str, Any]) -> tuple[str, bytes]:
    """Return the JWS header text and signature bytes of a detached JWS, checking the header."""
    parts = proof["jws"].split(".")
    if len(parts) != 3 or parts[1] != "":
        raise FormatError(Reason.STRUCTURE, "jws is not a detached JWS")
    try:
        header = json.loads(_unb64url(parts[0]))
    except ValueError as error:
        raise FormatError(Reason.STRUCTURE, "JWS header is not JSON") from error
    expected = {"alg": ALGORITHMS[proof["type"]], "b64": False, "crit": ["b64"]}
    if header != expected:
        raise FormatError(Reason.STRUCTURE, f"JWS header must be {expected}")
    return parts[0], _unb64url(parts[2])


def _checker(public_key: Any, suite: str) -> Callable[[bytes, bytes], None] | None:
    """Return a function that checks a signature with the key, if the key fits the suite."""
    if suite == ED25519 and isinstance(public_key, ed25519.Ed25519PublicKey):
        return public_key.verify
    if suite == RSA and isinstance(public_key, rsa.RSAPublicKey):
        key = public_key
        return lambda signature, data: key.verify(signature, data, _pss(), hashes.SHA256())
    return None


def _dose_summary(entry: dict[str, Any]) -> DoseSummary:
    """Return what a verifier shows of one evidence entry."""
    numbers: list[int] = []
    for field in ("dose", "totalDoses"):
        value = entry.get(field)
        # bool is an int in Python, but not a dose number in JSON.
        if not isinstance(value, int) or isinstance(value, bool):
            raise FormatError(Reason.STRUCTURE, f"{field} must be an integer")
        numbers.append(value)
    # The context maps both to schema:doseValue, so the signature does not say which is
    # which; "n of m" is shown with the smaller first so a swap cannot fake a full series.
    number, series = min(numbers), max(numbers)
    facility = entry.get("facility")
    address = facility.get("address") if isinstance(facility, dict) else None
    country = address.get("addressCountry", "") if isinstance(address, dict) else ""
    return DoseSummary(
        vaccine=str(entry.get("vaccine", "")),
        number=number,
        series=series,
        date=str(entry.get("date") or entry.get("effectiveStart") or "")[:10],
        country=str(country),
    )


def _summary(document: dict[str, Any]) -> Summary:
    """Return the minimum a verifier shows of a verified credential."""
    subject = document["credentialSubject"]
    issuer = document.get("issuer", "")
    if isinstance(issuer, dict):
        issuer = issuer.get("id", "")
    evidence = document["evidence"]
    return Summary(
        name=str(subject.get("name", "")),
        # CoWIN gave the age only; later DIVOC contexts add `dob`.
        birth_date=str(subject.get("dob", "")),
        doses=tuple(_dose_summary(entry) for entry in evidence),
        certificate_id=str(evidence[-1].get("certificateId", "")),
        issuer=str(issuer),
        issued_at=_moment(document.get("issuanceDate"), "issuanceDate"),
        expires_at=(
            _moment(document["expirationDate"], "expirationDate")
            if "expirationDate" in document
            else None
        ),
    )


def _revoked(document: dict[str, Any], revoked_ids: set[str]) -> bool:
    """Return whether any evidence entry names a revoked certificate."""
    if not revoked_ids:
        return False
    for entry in document["evidence"]:
        # certificateId, batch, vaccine and manufacturer all map to schema:id: the signature
        # does not fix which field holds the certificate id, so look at every one of them.
        for field in ("certificateId", "batch", "vaccine", "manufacturer"):
            if entry.get(field) in revoked_ids:
                return True
    return False


def verify(data: str | bytes, trust: Trust, *, at: datetime) -> Verdict:
    """Return the verdict on a DIVOC credential (ZIP bytes, "B64:" text or JSON)."""
    try:
        return _verify(data, trust, at=_utc(at))
    except FormatError as error:
        return Verdict.invalid(W3C_VC, error.reason, error.detail)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        # Hostile input can reach corners of JSON-LD processing we do not enumerate.
        return Verdict.invalid(W3C_VC, Reason.STRUCTURE, f"{type(error).__name__}: {error}")


def _verify(data: str | bytes, trust: Trust, *, at: datetime) -> Verdict:
    """Return the verdict, raising FormatError for input that cannot be read."""
    document = decode(data)
    proof = _check_shape(document)
    kid = proof["verificationMethod"]
    trusted = trust.find(W3C_VC, kid)
    if trusted is None:
        return Verdict.invalid(W3C_VC, Reason.UNKNOWN_KEY, f"no trusted key {kid}", kid=kid)
    header, signature = _signature(proof)
    check = _checker(trusted.public_key, proof["type"])
    if check is None:
        return Verdict.invalid(W3C_VC, Reason.SIGNATURE, "key does not fit the suite", kid=kid)
    signing_input = header.encode("ascii") + b"." + _verify_data(document, proof)
    try:
        check(signature, signing_input)
    except InvalidSignature:
        return Verdict.invalid(W3C_VC, Reason.SIGNATURE, "signature does not verify", kid=kid)
    created = _moment(proof["created"], "created")
    if (trusted.not_before and created < trusted.not_before) or (
        trusted.not_after and created > trusted.not_after
    ):
        return Verdict.invalid(W3C_VC, Reason.KEY_EXPIRED, "key not valid at created", kid=kid)
    summary = _summary(document)
    if summary.issued_at and summary.issued_at > at:
        return Verdict.invalid(W3C_VC, Reason.NOT_YET_VALID, summary=summary, kid=kid)
    if summary.expires_at and summary.expires_at < at:
        return Verdict.invalid(W3C_VC, Reason.EXPIRED, summary=summary, kid=kid)
    if _revoked(document, trust.revoked_ids):
        return Verdict.revoked(W3C_VC, summary, kid)
    return Verdict(status=Verdict.VALID, format=W3C_VC, summary=summary, kid=kid)
