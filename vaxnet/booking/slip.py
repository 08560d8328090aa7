"""The appointment slip: one A5 page with the security code and a QR code for the verifier."""

from io import BytesIO

import segno
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF

from vaxnet.booking.models import Appointment
from vaxnet.core.pdf import FAMILY, new_pdf

# Millimetres on A5 (148 mm wide, 12 mm margins): labels, values, and the QR code at right.
LABEL_WIDTH, VALUE_WIDTH, QR_SIZE = 38, 48, 36


def qr_payload(appointment: Appointment) -> str:
    """Return what the slip's QR code holds: enough for a verifier to find the booking."""
    return f"VAXNET:APPT:{appointment.public_id}:{appointment.security_code}"


def _pdf(texts: list[str]) -> FPDF:
    # Noto Sans, with the script fonts these texts need as fallbacks; HarfBuzz shapes the
    # text, so conjuncts and vowel signs come out right.
    pdf = new_pdf(size=(148, 210), texts=texts)  # A5, in millimetres
    pdf.set_margins(12, 12, 12)
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

    pdf = _pdf([title, subtitle, code_label, note, issued, *(t for row in rows for t in row)])
    pdf.add_page()
    pdf.set_title(title)
    pdf.set_creator("vaxnet")
    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    pdf.cell(0, 6, subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    top = pdf.get_y()
    for label, value in rows:
        pdf.set_font(FAMILY, "B", 10)
        pdf.multi_cell(LABEL_WIDTH, 7, label, align="L", new_x="RIGHT", new_y="TOP")
        pdf.set_font(FAMILY, "", 10)
        pdf.multi_cell(VALUE_WIDTH, 7, value, align="L", new_x="LMARGIN", new_y="NEXT")

    qr = segno.make(qr_payload(appointment), error="m")
    image = BytesIO()
    qr.save(image, kind="png", scale=6, border=2)
    image.seek(0)
    pdf.image(image, x=pdf.w - 12 - QR_SIZE, y=top, w=QR_SIZE, h=QR_SIZE)

    pdf.ln(6)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 7, code_label, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 32)
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
    pdf.set_font(FAMILY, "", 9)
    pdf.multi_cell(0, 5, note, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(-18)
    pdf.set_font(FAMILY, "", 8)
    pdf.cell(0, 5, f"{issued} · {appointment.public_id}", align="C")
    return bytes(pdf.output())
