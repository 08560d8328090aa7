"""The vaccination certificate as one A4 page: the person, the doses and the QR codes to verify.

The layout is fixed, so a certificate looks the same in every language: a domestic certificate
labels everything in the citizen's language and in English, an international one in English
only, with the name also in its Latin transliteration.
"""

from datetime import date, datetime

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from vaxnet.certificates.record import CertificateRecord, DoseEntry
from vaxnet.core.pdf import FAMILY, PDF, draw_qr, new_pdf
from vaxnet.core.qr import QrSymbol

# Millimetres on A4 (210 × 297) with 15 mm margins: 180 mm of width to lay out.
PAGE = (210.0, 297.0)
MARGIN = 15.0
WIDTH = PAGE[0] - 2 * MARGIN
LABEL_WIDTH, ROW = 72.0, 6.0
QR_SIZE, QR_MIN, QR_GAP, QR_TOP = 50.0, 30.0, 12.0, 168.0
# Where the codes must end: their labels, the certificate id and the time, then the verify line.
FOOTER_TOP = PAGE[1] - MARGIN - 10 - 2 * (ROW + 1) - 10
# The doses table: each column's width; together they fill the 180 mm.
COLUMNS = (17.0, 25.0, 27.0, 19.0, 22.0, 34.0, 22.0, 14.0)

DISEASES: dict[str, Promise] = {
    "covid19": gettext_lazy("COVID-19"),
    "measles": gettext_lazy("Measles"),
    "polio": gettext_lazy("Polio"),
    "hpv": gettext_lazy("HPV"),
    "rubella": gettext_lazy("Rubella"),
    "diphtheria": gettext_lazy("Diphtheria"),
    "tetanus": gettext_lazy("Tetanus"),
    "hepatitis_b": gettext_lazy("Hepatitis B"),
    "yellow_fever": gettext_lazy("Yellow fever"),
    "rotavirus": gettext_lazy("Rotavirus"),
}
KINDS: dict[str, Promise] = {
    "provisional": gettext_lazy("Provisional certificate"),
    "final": gettext_lazy("Final certificate"),
    "booster": gettext_lazy("Booster certificate"),
}
SEXES: dict[str, Promise] = {
    "male": gettext_lazy("Male"),
    "female": gettext_lazy("Female"),
    "other": gettext_lazy("Other"),
}
DOSE_COLUMNS: tuple[Promise, ...] = (
    pgettext_lazy("dose", "Dose"),
    gettext_lazy("Vaccine"),
    gettext_lazy("Manufacturer"),
    gettext_lazy("Lot number"),
    gettext_lazy("Date"),
    gettext_lazy("Facility"),
    gettext_lazy("Region"),
    gettext_lazy("Country"),
)


def _labels(record: CertificateRecord) -> dict[str, str]:
    """Return the page's labels in the active language."""
    disease = DISEASES.get(record.target, record.target)
    return {
        "title": _("Certificate for {disease} vaccination").format(disease=disease),
        "kind": str(KINDS.get(record.kind, record.kind)),
        "person": _("Beneficiary details"),
        "name": _("Name"),
        "name_latin": _("Name (Latin script)"),
        "birth_date": _("Date of birth"),
        "birth_year": _("Year of birth"),
        "sex": _("Sex"),
        "id": _("ID number"),
        "reference": _("Reference number"),
        "doses": _("Vaccination details"),
        "certificate_id": _("Certificate ID"),
        "issued_at": _("Issued at"),
        "verify": _("Verify at {url}").format(url=f"{record.issuer_url}/verify"),
        **{f"column{i}": str(label) for i, label in enumerate(DOSE_COLUMNS)},
    }


def _birth(record: CertificateRecord) -> tuple[str, str]:
    """Return which birth label applies and its value in the active language."""
    if len(record.birth_date) == 4:
        return "birth_year", record.birth_date
    return "birth_date", date_format(date.fromisoformat(record.birth_date), "DATE_FORMAT")


def _dose_row(dose: DoseEntry) -> tuple[str, ...]:
    """Return one dose's cells in the active language."""
    return (
        _("{number} of {series}").format(number=dose.number, series=dose.series),
        dose.vaccine_name,
        dose.manufacturer,
        dose.lot,
        date_format(dose.given_on, "DATE_FORMAT"),
        dose.facility,
        dose.region,
        dose.country,
    )


def _values(record: CertificateRecord, issued: datetime) -> dict[str, str]:
    """Return the values that are worded or formatted in the active language."""
    birth_key, birth_value = _birth(record)
    return {
        "birth_key": birth_key,
        "birth": birth_value,
        "sex": str(SEXES.get(record.sex, record.sex)),
        "issued_at": date_format(issued, "DATETIME_FORMAT"),
    }


def certificate_pdf(
    record: CertificateRecord,
    *,
    codes: list[tuple[str, QrSymbol]],
    language: str,
    variant: str = "domestic",
    id_type_name: str = "",
) -> bytes:
    """Render the certificate as one A4 page with the person, the doses and the QR codes.

    `id_type_name` names the ID document in the page's language (the record holds the pack's
    code, which is shown when no name is given).
    """
    if not 1 <= len(codes) <= 3:
        raise ValueError("a certificate shows one to three QR codes")
    if variant not in ("domestic", "international"):
        raise ValueError(f"unknown certificate variant: {variant}")
    issued = timezone.localtime(record.issued_at)
    with translation.override("en"):
        en = _labels(record)
    if variant == "international" or language == "en":
        language, mine = "en", en
    else:
        with translation.override(language):
            mine = _labels(record)
    # Both languages, except where a string has no translation yet.
    labels = {key: en[key] if mine[key] == en[key] else f"{mine[key]} / {en[key]}" for key in en}
    header: list[tuple[str, ...]] = [
        (en[key],) if mine[key] == en[key] else (mine[key], en[key])
        for key in (f"column{i}" for i in range(len(COLUMNS)))
    ]
    with translation.override(language):
        values = _values(record, issued)
        doses = [_dose_row(dose) for dose in record.doses]

    person = [(labels["name"], record.name)]
    if variant == "international":
        latin = " ".join(record.name_latin.replace("<", " ").split())
        person.append((labels["name_latin"], latin))
    person += [
        (labels[values["birth_key"]], values["birth"]),
        (labels["sex"], values["sex"]),
        (labels["id"], f"{record.masked_id} ({id_type_name or record.id_type})"),
        (labels["reference"], record.reference),
    ]
    footer = [
        (labels["certificate_id"], record.certificate_id),
        (labels["issued_at"], values["issued_at"]),
    ]
    texts = [*mine.values(), *values.values(), record.issuer, *(pair[0] for pair in codes)]
    texts += [pair[1] for pair in person] + [cell for row in doses for cell in row]

    pdf = new_pdf(size=PAGE, texts=texts)
    pdf.set_title(en["title"])
    pdf.set_creator("vaxnet")
    pdf.set_creation_date(record.issued_at)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.add_page()

    pdf.set_font(FAMILY, "B", 17)
    pdf.text_cell(WIDTH, 9, mine["title"], next_line=True)
    pdf.set_font(FAMILY, "B", 11)
    pdf.text_cell(WIDTH, 6, en["title"] if mine["title"] != en["title"] else "", next_line=True)
    pdf.set_font(FAMILY, "", 11)
    pdf.text_cell(WIDTH, 6, labels["kind"], next_line=True)
    pdf.text_cell(WIDTH, 6, record.issuer, next_line=True)
    pdf.set_draw_color(40, 80, 140)
    pdf.set_line_width(0.6)
    pdf.line(MARGIN, 46, PAGE[0] - MARGIN, 46)

    pdf.set_y(50)
    _heading(pdf, labels["person"])
    _rows(pdf, person)

    pdf.set_y(max(pdf.get_y() + 5, 106))
    _heading(pdf, labels["doses"])
    _table(pdf, header, doses)

    top = max(pdf.get_y() + 8, QR_TOP)
    # Many doses push the codes down; they shrink rather than run into the footer.
    size = max(QR_MIN, min(QR_SIZE, FOOTER_TOP - top))
    across = len(codes) * size + (len(codes) - 1) * QR_GAP
    pdf.set_fill_color(0)
    for i, (label, code) in enumerate(codes):
        x = MARGIN + (WIDTH - across) / 2 + i * (size + QR_GAP)
        draw_qr(pdf, code, x, top, size)
        pdf.set_xy(x - QR_GAP / 2, top + size + 1)
        pdf.set_font(FAMILY, "B", 9)
        pdf.text_cell(size + QR_GAP, 5, label, align="C")

    pdf.set_y(top + size + 10)
    _rows(pdf, footer)
    pdf.set_draw_color(40, 80, 140)
    pdf.set_line_width(0.3)
    pdf.line(MARGIN, PAGE[1] - MARGIN - 10, PAGE[0] - MARGIN, PAGE[1] - MARGIN - 10)
    pdf.set_xy(MARGIN, PAGE[1] - MARGIN - 8)
    pdf.set_font(FAMILY, "", 10)
    pdf.text_cell(WIDTH, 6, labels["verify"], align="C")
    return bytes(pdf.output() or b"")


def _heading(pdf: PDF, text: str) -> None:
    """Write a section heading on a line of its own."""
    pdf.set_font(FAMILY, "B", 12)
    pdf.set_text_color(40, 80, 140)
    pdf.text_cell(WIDTH, 8, text, next_line=True)
    pdf.set_text_color(0)


def _rows(pdf: PDF, rows: list[tuple[str, str]]) -> None:
    """Write label and value pairs, each wrapped within its column."""
    for label, value in rows:
        top = pdf.get_y()
        pdf.set_font(FAMILY, "B", 10)
        labels = pdf.wrap(label, LABEL_WIDTH - 3)
        for i, line in enumerate(labels):
            pdf.set_xy(MARGIN, top + ROW * i)
            pdf.text_cell(LABEL_WIDTH, ROW, line)
        pdf.set_font(FAMILY, "", 10)
        values = pdf.wrap(value, WIDTH - LABEL_WIDTH - 3)
        for i, line in enumerate(values):
            pdf.set_xy(MARGIN + LABEL_WIDTH, top + ROW * i)
            pdf.text_cell(WIDTH - LABEL_WIDTH, ROW, line)
        pdf.set_xy(MARGIN, top + ROW * max(len(labels), len(values)) + 1)


def _table(pdf: PDF, header: list[tuple[str, ...]], rows: list[tuple[str, ...]]) -> None:
    """Draw the doses: each column's name (in one or two languages), then a row per dose."""
    pdf.set_draw_color(180)
    pdf.set_line_width(0.2)
    top = bottom = pdf.get_y()
    x = MARGIN
    for width, names in zip(COLUMNS, header, strict=True):
        y = top + 1
        for name, size in zip(names, (8.0, 6.5), strict=False):
            pdf.set_font(FAMILY, "B", size)
            for line in pdf.wrap(name, width - 2):
                pdf.set_xy(x, y)
                pdf.text_cell(width - 1, size / 2, line)
                y += size / 2
        bottom = max(bottom, y)
        x += width
    pdf.line(MARGIN, bottom + 1, PAGE[0] - MARGIN, bottom + 1)
    pdf.set_font(FAMILY, "", 8)
    for cells in rows:
        top = bottom = bottom + 1
        x = MARGIN
        for width, text in zip(COLUMNS, cells, strict=True):
            lines = pdf.wrap(text, width - 2)
            for i, line in enumerate(lines):
                pdf.set_xy(x, top + 1 + 4.2 * i)
                pdf.text_cell(width - 1, 4.2, line)
            bottom = max(bottom, top + 1 + 4.2 * len(lines))
            x += width
        pdf.line(MARGIN, bottom + 1, PAGE[0] - MARGIN, bottom + 1)
    pdf.set_y(bottom + 1)
