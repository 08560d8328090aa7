"""The certificate PDF: labels in two languages, shaped text, fonts embedded, QR codes that scan."""

import subprocess
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from vaxnet.certificates.pdf import certificate_pdf
from vaxnet.core.qr import QrSymbol, qr_make

from .records import covishield_dose, sample_record

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "certificates"
UVCI = "URN:UVCI:01:IN:7F3K9QW2XH4M#K"
NAMES = {"en": "Asha Devi", "hi": "आशा देवी", "ta": "ஆஷா தேவி"}
PAYLOADS = [
    ("W3C / DIVOC", "https://verify.example.in/c/" + "7F3K9QW2XH4M" * 12),
    ("EU DCC", "HC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B" * 5),
    ("SMART Health Card", "shc:/" + "56762909524320603460292437404460312229595326546034" * 6),
]
# Strings the .po files already translate, with their Hindi and Tamil.
TRANSLATED = {
    "Name": {"hi": "नाम", "ta": "பெயர்"},
    "Vaccine": {"hi": "टीका", "ta": "தடுப்பூசி"},
    "Date": {"hi": "तारीख", "ta": "தேதி"},
    "Manufacturer": {"hi": "निर्माता", "ta": "உற்பத்தியாளர்"},
    "Reference number": {"hi": "संदर्भ संख्या", "ta": "குறிப்பு எண்"},
    "Sex": {"hi": "लिंग", "ta": "பாலினம்"},
}
FEMALE = {"en": "Female", "hi": "महिला", "ta": "பெண்"}  # a value: in the citizen's language only
ENGLISH = [
    "Certificate for COVID-19 vaccination",
    "Final certificate",
    "Ministry of Health and Family Welfare",
    "Beneficiary details",
    "Vaccination details",
    "Lot number",
    "Certificate ID",
    "Issued at",
    "Verify at https://verify.example.in/verify",
]


def _codes() -> list[tuple[str, QrSymbol]]:
    return [(label, qr_make(text, error="M")) for label, text in PAYLOADS]


def _flat(text: str) -> str:
    """Return text in NFC without whitespace: extraction splits shaped syllables with spaces."""
    return "".join(unicodedata.normalize("NFC", text).split())


def _render(pdf: bytes, stem: str) -> tuple[str, Image.Image, Path]:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{stem}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", "-f", "1", str(path), str(OUTPUT / stem)],
        check=True,
    )
    return text, Image.open(OUTPUT / f"{stem}.png"), path


@pytest.mark.parametrize("language", ["en", "hi", "ta"])
def test_it_renders_a_domestic_certificate(language: str) -> None:
    pdf = certificate_pdf(sample_record(name=NAMES[language]), codes=_codes(), language=language)

    text, image, path = _render(pdf, f"certificate-{language}")

    flat = _flat(text)
    for english in [*ENGLISH, *TRANSLATED]:
        assert _flat(english) in flat, english
    if language != "en":
        for english, translations in TRANSLATED.items():
            assert _flat(translations[language]) in flat, english
        assert _flat(f"{TRANSLATED['Name'][language]} / Name") in flat
    assert _flat(NAMES[language]) in flat
    assert _flat(FEMALE[language]) in flat
    assert _flat(UVCI) in flat
    assert "4121Z015" in text and "4121Z025" in text
    assert "DEVI ASHA" not in text
    found = sorted(code.text for code in zxingcpp.read_barcodes(image))
    assert found == sorted(payload for _, payload in PAYLOADS)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "Pages:           1" in info.stdout
    assert "Page size:       595.28 x 841.89 pts (A4)" in info.stdout
    assert "Creator:         vaxnet" in info.stdout
    assert "Title:           Certificate for COVID-19 vaccination" in info.stdout


@pytest.mark.parametrize("language", ["hi", "ta"])
def test_it_embeds_every_font_it_uses(language: str) -> None:
    pdf = certificate_pdf(
        sample_record(name=NAMES[language]), codes=_codes()[:1], language=language
    )
    path = OUTPUT / f"fonts-{language}.pdf"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)

    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)

    rows = [line.split() for line in listing.stdout.splitlines()[2:]]
    script = {"hi": "NotoSansDevanagari", "ta": "NotoSansTamil"}[language]
    assert sorted(row[0].split("+")[1] for row in rows) == sorted(
        ["NotoSans", "NotoSansBold", script, f"{script}Bold"]
    )
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in rows)  # embedded, subset, unicode


def test_it_renders_an_international_certificate_in_english_only() -> None:
    record = sample_record(name=NAMES["hi"])

    text, image, _ = _render(
        certificate_pdf(record, codes=_codes()[1:2], language="hi", variant="international"),
        "certificate-international",
    )

    flat = _flat(text)
    for english in [*ENGLISH, *TRANSLATED]:
        assert _flat(english) in flat, english
    for translations in TRANSLATED.values():
        assert _flat(translations["hi"]) not in flat
    assert "DEVI ASHA" in text
    assert _flat(NAMES["hi"]) in flat
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [PAYLOADS[1][1]]


@pytest.mark.parametrize("count", [0, 4])
def test_it_refuses_other_than_one_to_three_codes(count: int) -> None:
    codes = [("EU DCC", qr_make(f"HC1:{i}", error="Q")) for i in range(count)]

    with pytest.raises(ValueError, match="one to three"):
        certificate_pdf(sample_record(name=NAMES["en"]), codes=codes, language="en")


def test_it_refuses_an_unknown_variant() -> None:
    with pytest.raises(ValueError, match="variant"):
        certificate_pdf(
            sample_record(name=NAMES["en"]), codes=_codes(), language="en", variant="travel"
        )


def test_it_makes_the_same_bytes_for_the_same_certificate() -> None:
    record = sample_record(name=NAMES["ta"])

    first = certificate_pdf(record, codes=_codes(), language="ta")

    assert certificate_pdf(record, codes=_codes(), language="ta") == first


def test_it_keeps_many_doses_on_the_page_with_codes_that_scan() -> None:
    doses = tuple(
        covishield_dose(n, date(2021, 5, 3) + timedelta(days=60 * n)) for n in range(1, 7)
    )
    record = sample_record(*doses, name=NAMES["ta"])

    text, image, _ = _render(
        certificate_pdf(record, codes=_codes(), language="ta"), "certificate-many-doses"
    )

    assert all(f"4121Z0{n}5" in text for n in range(1, 7))
    assert "Verify at https://verify.example.in/verify" in text
    found = sorted(code.text for code in zxingcpp.read_barcodes(image))
    assert found == sorted(payload for _, payload in PAYLOADS)
