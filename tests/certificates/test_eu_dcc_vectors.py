"""EU DCC against the public dgc-testdata vectors: every expected result must match."""

import base64
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from cryptography import x509
from PIL import Image, UnidentifiedImageError

from vaxnet.certificates.formats import eu_dcc
from vaxnet.certificates.formats.base import EU_DCC, FormatError, Reason, Trust, TrustedKey, Verdict

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
TESTDATA = VECTORS / "eu-dcc" / "dgc-testdata"
FILES = sorted(TESTDATA.glob("*.json"))

# The order of the checks; a step passed means the verdict failed at a later one (or not at all).
STAGES: list[set[str]] = [
    {Reason.PREFIX},
    {Reason.ENCODING},
    {Reason.COMPRESSION},
    {Reason.STRUCTURE},
    {Reason.UNKNOWN_KEY, Reason.SIGNATURE},
    {Reason.NOT_YET_VALID, Reason.EXPIRED},
    {Reason.KEY_EXPIRED},
    {Reason.KEY_USAGE},
    {Reason.SCHEMA},
    {Reason.REVOKED},
]

# Which step each EXPECTEDRESULTS flag tests, by the reasons that step refuses with.
FLAG_REASONS: dict[str, set[str]] = {
    "EXPECTEDUNPREFIX": {Reason.PREFIX},
    "EXPECTEDB45DECODE": {Reason.ENCODING},
    "EXPECTEDCOMPRESSION": {Reason.COMPRESSION},
    "EXPECTEDDECODE": {Reason.STRUCTURE},
    "EXPECTEDVALIDOBJECT": {Reason.STRUCTURE},
    "EXPECTEDVERIFY": {Reason.STRUCTURE, Reason.UNKNOWN_KEY, Reason.SIGNATURE},
    "EXPECTEDEXPIRATIONCHECK": {Reason.NOT_YET_VALID, Reason.EXPIRED},
    "EXPECTEDKEYUSAGE": {Reason.KEY_USAGE},
    "EXPECTEDSCHEMAVALIDATION": {Reason.SCHEMA},
}
# Flags about steps verify() does not have: the picture and JSON ones are checked below,
# EXPECTEDENCODE needs the issuer's private key.
OTHER_FLAGS = {"EXPECTEDPICTUREDECODE", "EXPECTEDVALIDJSON", "EXPECTEDENCODE"}

# The whole verdict for each file (README table), so a wrong reason cannot hide behind a flag.
EXPECTED_REASON = {
    "AE-vaccine": "",
    "CH-1": "",
    "CH-2": "",
    "CH-3": "",
    "common-B1": Reason.ENCODING,
    "common-CBO1": Reason.STRUCTURE,
    "common-CBO2": Reason.STRUCTURE,
    "common-CO1": "",
    "common-CO13": "",
    "common-CO16": Reason.NOT_YET_VALID,
    "common-CO17": Reason.EXPIRED,
    "common-CO19": "",
    "common-CO22": Reason.UNKNOWN_KEY,
    "common-CO23": Reason.UNKNOWN_KEY,
    "common-CO28": "",
    "common-CO3": "",
    "common-CO5": Reason.SIGNATURE,
    "common-CO6": Reason.KEY_USAGE,
    "common-DGC1": Reason.SCHEMA,
    "common-DGC2": Reason.SCHEMA,
    "common-DGC6": "",
    "common-H1": Reason.PREFIX,
    "common-H2": Reason.PREFIX,
    "common-H3": Reason.PREFIX,
    "common-Q1": "",
    "common-Z1": Reason.COMPRESSION,
    "common-Z2": Reason.COMPRESSION,
}


def load(path: Path) -> dict[str, Any]:
    """Return one vector file."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def trust_of(vector: dict[str, Any]) -> Trust:
    """Return a trust list holding the vector's DSC under its EU kid."""
    der = base64.b64decode(vector["TESTCTX"]["CERTIFICATE"])
    certificate = x509.load_der_x509_certificate(der)
    key = TrustedKey(
        purpose=EU_DCC,
        kid=eu_dcc.dsc_kid(certificate),
        public_key=certificate.public_key(),
        certificate=certificate,
    )
    return Trust(keys=[key])


def verdict_of(vector: dict[str, Any]) -> Verdict:
    """Return the verdict on the vector's PREFIX text at its validation clock."""
    at = datetime.fromisoformat(vector["TESTCTX"]["VALIDATIONCLOCK"])
    return eu_dcc.verify(vector["PREFIX"], trust_of(vector), at=at)


def stage(reason: str) -> int:
    """Return the index of the check that refuses with a reason (past the last for none)."""
    for index, reasons in enumerate(STAGES):
        if reason in reasons:
            return index
    assert reason == ""
    return len(STAGES)


def test_it_has_every_vector_file() -> None:
    assert {path.stem for path in FILES} == set(EXPECTED_REASON)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_it_meets_the_expected_results(path: Path) -> None:
    vector = load(path)
    expected = vector["EXPECTEDRESULTS"]
    verdict = verdict_of(vector)

    assert set(expected) <= set(FLAG_REASONS) | OTHER_FLAGS
    assert verdict.format == EU_DCC
    assert verdict.reason == EXPECTED_REASON[path.stem]
    assert verdict.status == (Verdict.INVALID if verdict.reason else Verdict.VALID)
    for flag, passed in expected.items():
        if flag not in FLAG_REASONS:
            continue
        flag_stage = stage(next(iter(FLAG_REASONS[flag])))
        if passed:
            assert stage(verdict.reason) > flag_stage, flag
        else:
            assert verdict.reason in FLAG_REASONS[flag], flag


WITH_JSON = [path for path in FILES if load(path)["EXPECTEDRESULTS"].get("EXPECTEDVALIDJSON")]


@pytest.mark.parametrize("path", WITH_JSON, ids=[path.stem for path in WITH_JSON])
def test_it_decodes_the_payload_the_vector_holds(path: Path) -> None:
    vector = load(path)

    assert len(WITH_JSON) == 7
    assert eu_dcc.decode(vector["PREFIX"])[-260][1] == vector["JSON"]


@pytest.mark.parametrize(
    "name", ["common-H1", "common-B1", "common-Z2", "common-CBO1", "common-CBO2"]
)
def test_it_raises_the_verdict_reason_on_decode(name: str) -> None:
    vector = load(TESTDATA / f"{name}.json")
    with pytest.raises(FormatError) as raised:
        eu_dcc.decode(vector["PREFIX"])

    assert raised.value.reason == EXPECTED_REASON[name]


def read_qr(png_base64: str) -> list[str]:
    """Return the texts of the QR codes in a base64 PNG (none if it is no image)."""
    try:
        image = Image.open(io.BytesIO(base64.b64decode(png_base64)))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        return []
    return [str(barcode.text) for barcode in zxingcpp.read_barcodes(image)]


PICTURES = [path for path in FILES if "2DCODE" in load(path)]


@pytest.mark.parametrize("path", PICTURES, ids=[path.stem for path in PICTURES])
def test_it_reads_the_qr_picture(path: Path) -> None:
    vector = load(path)
    texts = read_qr(vector["2DCODE"])

    if path.stem == "common-Q1":
        assert vector["EXPECTEDRESULTS"]["EXPECTEDPICTUREDECODE"] is False
        assert texts == []
    else:
        assert texts == [vector["PREFIX"]]


def test_it_has_pictures_for_the_full_vectors() -> None:
    assert {path.stem for path in PICTURES} == {
        "AE-vaccine",
        "CH-1",
        "CH-2",
        "CH-3",
        "common-CO28",
        "common-Q1",
    }


@pytest.mark.parametrize(
    ("name", "uvci"),
    [
        ("AT-1.3.0-VAC.png", "URN:UVCI:01:AT:D4QLON2YR27UVT6PXRZYZKZZL#L"),
        ("TSI-1.3.0-specialcases-VAC_1.png", "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W"),
    ],
)
def test_it_decodes_real_qr_codes_signed_with_unknown_keys(name: str, uvci: str) -> None:
    image = Image.open(VECTORS / "eu-dcc" / "dcc-quality-assurance" / name)
    (text,) = [str(barcode.text) for barcode in zxingcpp.read_barcodes(image)]

    hcert = eu_dcc.decode(text)[-260][1]
    verdict = eu_dcc.verify(text, Trust(), at=datetime.fromisoformat("2022-01-01T00:00:00Z"))

    assert hcert["ver"] == "1.3.0"
    assert hcert["v"][0]["ci"] == uvci
    assert (verdict.status, verdict.reason) == (Verdict.INVALID, Reason.UNKNOWN_KEY)
