"""Certificate PDFs: CPU time per render in English, Hindi and Tamil, against a plain page.

Renders fresh certificates (each its own person, certificate id and three QR codes, made
beforehand) with `vaxnet.certificates.pdf.certificate_pdf`: Noto fonts, HarfBuzz shaping for
Devanagari and Tamil, fonts subset and embedded. The ceiling, measured in the same run, is
fpdf2 writing the same page (the same texts in the same places, the same QR codes) in the core
Helvetica font: Latin only, no shaping, no font to embed. The two alternate in rounds; the
figures are CPU milliseconds per render and renders per second in one process, the ratio of
those rates, and the renders per second of two processes at once (the target: 100 on two
cores, the two web workers of a small deployment).

Environment: BENCH_SECONDS (per round, default 1), BENCH_ROUNDS (default 3).
"""

import multiprocessing
import os
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("BENCH_SECONDS", "1"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
NAMES = {"en": "Asha Devi", "hi": "आशा देवी", "ta": "ஆஷா தேவி"}
POOL = 40  # distinct certificates per language, rendered in turn
TARGET = 100  # renders per second with two processes


def _setup() -> None:
    os.environ.update(
        {
            "VAXNET_COUNTRY": "TEST",
            "SECRET_KEY": secrets.token_hex(32),
            "VAXNET_ID_HASH_KEY": secrets.token_hex(32),
            "ALLOWED_HOSTS": "127.0.0.1",
            "VAXNET_PUBLIC_URL": "https://bench.invalid",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "vaxnet.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _certificates(language: str) -> list[tuple[Any, list[tuple[str, Any]]]]:
    """Return POOL distinct certificates, each with its three QR codes."""
    from tests.certificates.records import covishield_dose, sample_record
    from vaxnet.certificates.formats import eu_dcc, shc
    from vaxnet.core.qr import qr_make

    made = []
    for n in range(POOL):
        opaque = secrets.token_hex(6).upper()
        doses = tuple(
            covishield_dose(
                number,
                date(2021, 5, 3) + timedelta(days=n + 60 * number),
                lot=f"4121Z{n:03d}{number}",
            )
            for number in (1, 2)
        )
        record = sample_record(
            *doses,
            certificate_id=f"URN:UVCI:01:IN:{opaque}#K",
            issued_at=datetime(2021, 8, 2, 9, 30, tzinfo=UTC) + timedelta(minutes=n),
            name=f"{NAMES[language]} {n}",
            birth_date=f"{1950 + n}-04-12",
            masked_id=f"XXXX XXXX {1000 + n}",
            reference=f"{10**13 + n}",
        )
        # Each code at its format's error level, as the certificate documents make them.
        codes = [
            (
                "W3C / DIVOC",
                qr_make(f"https://verify.example.in/c/{opaque}" + "A" * 300, error="M"),
            ),
            ("EU DCC", eu_dcc.qr(f"HC1:{opaque}" + "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3" * 12)),
            ("SMART Health Card", shc.qr(f"shc:/{n}" + "5676290952432060346029" * 14)),
        ]
        made.append((record, codes))
    return made


def _plain(record: Any, codes: list[tuple[str, Any]]) -> bytes:
    """Write the certificate's page in core Helvetica: its texts where the certificate has them."""
    from fpdf import FPDF

    from vaxnet.core.pdf import draw_qr

    def line(x: float, y: float, w: float, text: str, style: str = "", size: float = 10) -> None:
        pdf.set_font("helvetica", style, size)
        pdf.set_xy(x, y)
        pdf.cell(w, 6, text)

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.set_title("Certificate for COVID-19 vaccination")
    pdf.set_creator("vaxnet")
    pdf.set_creation_date(record.issued_at)
    pdf.add_page()
    line(15, 15, 180, "Certificate for COVID-19 vaccination", "B", 17)
    line(15, 30, 180, "Final certificate", "", 11)
    line(15, 36, 180, record.issuer, "", 11)
    pdf.line(15, 46, 195, 46)
    line(15, 50, 180, "Beneficiary details", "B", 12)
    person = [
        ("Name", record.name_latin.replace("<", " ")),
        ("Date of birth", record.birth_date),
        ("Sex", "Female"),
        ("ID number", f"{record.masked_id} ({record.id_type})"),
        ("Reference number", record.reference),
    ]
    for i, (label, value) in enumerate(person):
        line(15, 58 + 7 * i, 72, label, "B")
        line(87, 58 + 7 * i, 108, value)
    line(15, 106, 180, "Vaccination details", "B", 12)
    columns = (17.0, 25.0, 27.0, 19.0, 22.0, 34.0, 22.0, 14.0)
    header = ("Dose", "Vaccine", "Manufacturer", "Lot number", "Date", "Facility", "Region")
    x = 15.0
    for width, name in zip(columns, (*header, "Country"), strict=True):
        line(x, 114, width, name, "B", 8)
        x += width
    for row, dose in enumerate(record.doses):
        cells = (
            f"{dose.number} of {dose.series}",
            dose.vaccine_name,
            dose.manufacturer,
            dose.lot,
            dose.given_on.isoformat(),
            dose.facility,
            dose.region,
            dose.country,
        )
        x = 15.0
        for width, text in zip(columns, cells, strict=True):
            line(x, 121 + 9 * row, width, text, "", 8)
            x += width
    for i, (label, code) in enumerate(codes):
        draw_qr(pdf, code, 24 + 62 * i, 168, 50)
        line(18 + 62 * i, 219, 62, label, "B", 9)
    line(15, 228, 72, "Certificate ID", "B")
    line(87, 228, 108, record.certificate_id)
    line(15, 235, 72, "Issued at", "B")
    line(87, 235, 108, record.issued_at.isoformat())
    line(15, 274, 180, "Verify at https://verify.example.in/verify")
    return bytes(pdf.output())


def _rate(
    render: Callable[[Any, Any], bytes], pool: list[Any], seconds: float
) -> tuple[int, float]:
    """Render in turn for about `seconds` of CPU; return how many and the CPU time taken."""
    done, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        record, codes = pool[done % len(pool)]
        render(record, codes)
        done += 1
    return done, time.process_time() - started


def _worker(language: str, seconds: float, results: Any) -> None:
    _setup()
    from vaxnet.certificates.pdf import certificate_pdf

    pool = _certificates(language)
    for record, codes in pool[:3]:  # fonts parsed once per process, before the clock starts
        certificate_pdf(record, codes=codes, language=language)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        record, codes = pool[done % len(pool)]
        certificate_pdf(record, codes=codes, language=language)
        done += 1
    results.put(done / (time.perf_counter() - started))


def main() -> None:
    _setup()
    from vaxnet.certificates.pdf import certificate_pdf

    print(
        f"{ROUNDS} alternating rounds of {SECONDS:.0f} s CPU each; {POOL} certificates a language"
    )
    figures = []
    for language in NAMES:
        pool = _certificates(language)
        started = time.process_time()
        certificate_pdf(pool[0][0], codes=pool[0][1], language=language)
        first = (time.process_time() - started) * 1000

        def mine(record: Any, codes: Any, language: str = language) -> bytes:
            return certificate_pdf(record, codes=codes, language=language)

        for record, codes in pool[:3]:
            mine(record, codes)
            _plain(record, codes)
        ours = ceiling = (0, 0.0)
        for _ in range(ROUNDS):
            done, spent = _rate(mine, pool, SECONDS)
            ours = (ours[0] + done, ours[1] + spent)
            done, spent = _rate(_plain, pool, SECONDS)
            ceiling = (ceiling[0] + done, ceiling[1] + spent)
        rate, ceiling_rate = ours[0] / ours[1], ceiling[0] / ceiling[1]
        figures.append((language, rate, rate / ceiling_rate))
        print(
            f"{language}: {1000 / rate:.1f} ms CPU a certificate, {rate:.0f}/s in one process "
            f"(the first, parsing the fonts: {first:.0f} ms); Helvetica page: "
            f"{1000 / ceiling_rate:.1f} ms, {ceiling_rate:.0f}/s; ratio {rate / ceiling_rate:.2f}",
            flush=True,
        )

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_worker, args=("hi", SECONDS * 3, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    together = sum(results.get() for _ in workers)
    for worker in workers:
        worker.join()
    print(f"two processes at once (hi): {together:.0f} certificates/s (target {TARGET})")
    summary = ", ".join(f"{lang} {rate:.0f}/s ratio {ratio:.2f}" for lang, rate, ratio in figures)
    print(f"figures: {summary}; two processes {together:.0f}/s (target {TARGET})")


if __name__ == "__main__":
    main()
