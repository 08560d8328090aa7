"""The appointment slip: one A5 page with the security code and a QR code for the verifier."""

from io import BytesIO
from pathlib import Path

import segno
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF

from vaxnet.booking.models import Appointment

# Millimetres on A5 (148 mm wide, 12 mm margins): labels, values, and the QR code at right.
LABEL_WIDTH, VALUE_WIDTH, QR_SIZE = 38, 48, 36
FONT_DIR = Path("/usr/share/fonts/truetype/noto")
# Noto Sans for Latin, with the script fonts of the pack languages as fallbacks;
# HarfBuzz shapes the text, so conjuncts and vowel signs come out right.
FONTS = {
    "latin": "NotoSans",
    "devanagari": "NotoSansDevanagari",
    "tamil": "NotoSansTamil",
}


def qr_payload(appointment: Appointment) -> str:
    """Return what the slip's QR code holds: enough for a verifier to find the booking."""
    return f"VAXNET:APPT:{appointment.public_id}:{appointment.security_code}"


def _pdf() -> FPDF:
    pdf = FPDF(format=(148, 210))  # A5, in millimetres
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(12, 12, 12)
    for family, filename in FONTS.items():
        pdf.add_font(family, "", FONT_DIR / f"{filename}-Regular.ttf")
        pdf.add_font(family, "B", FONT_DIR / f"{filename}-Bold.ttf")
    pdf.set_fallback_fonts(["devanagari", "tamil"], exact_match=False)
    pdf.set_text_shaping(True)
    return pdf


def appointment_slip_pdf(appointment: Appointment) -> bytes:
    """Render the slip in the account's language; the same look in every language."""
    beneficiary = appointment.beneficiary
    session = appointment.session
    facility = session.facility
    language = beneficiary.account.language if beneficiary.account else translation.get_language()
    with translation.override(language):
        rows = [
            (_("Name"), beneficiary.name),
            (_("Reference number"), beneficiary.reference),
            (_("Centre"), facility.name),
            (_("Address"), ", ".join(p for p in (facility.address, facility.postal_code) if p)),
            (_("Date"), date_format(session.date, "DATE_FORMAT")),
            (_("Time slot"), str(appointment.slot) if appointment.slot else _("On site")),
            (
                _("Vaccine"),
                _("{vaccine}, dose {number}").format(
                    vaccine=session.vaccine.display_name, number=appointment.dose_number
                ),
            ),
        ]
        title = _("Vaccination appointment")
        code_label = _("Security code")
        note = _("Show this slip or the security code at the centre, with your ID document.")
        issued = _("Issued {when}").format(
            when=date_format(timezone.localtime(), "DATETIME_FORMAT")
        )
        subtitle = f"{facility.country.name} · {appointment.get_status_display()}"

    pdf = _pdf()
    pdf.add_page()
    pdf.set_title(title)
    pdf.set_creator("vaxnet")
    pdf.set_font("latin", "B", 18)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("latin", "", 10)
    pdf.cell(0, 6, subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    top = pdf.get_y()
    for label, value in rows:
        pdf.set_font("latin", "B", 10)
        pdf.multi_cell(LABEL_WIDTH, 7, label, align="L", new_x="RIGHT", new_y="TOP")
        pdf.set_font("latin", "", 10)
        pdf.multi_cell(VALUE_WIDTH, 7, value, align="L", new_x="LMARGIN", new_y="NEXT")

    qr = segno.make(qr_payload(appointment), error="m")
    image = BytesIO()
    qr.save(image, kind="png", scale=6, border=2)
    image.seek(0)
    pdf.image(image, x=pdf.w - 12 - QR_SIZE, y=top, w=QR_SIZE, h=QR_SIZE)

    pdf.ln(6)
    pdf.set_font("latin", "B", 11)
    pdf.cell(0, 7, code_label, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("latin", "B", 32)
    pdf.cell(
        0,
        16,
        " ".join(appointment.security_code),
        border=1,
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    pdf.set_font("latin", "", 9)
    pdf.multi_cell(0, 5, note, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(-18)
    pdf.set_font("latin", "", 8)
    pdf.cell(0, 5, f"{issued} · {appointment.public_id}", align="C")
    return bytes(pdf.output())
