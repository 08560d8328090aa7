"""The appointment slip: a PDF in the citizen's language whose QR code a verifier can scan."""

import subprocess
from pathlib import Path

import pytest
import zxingcpp
from django.test import Client
from PIL import Image

from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.services import appointment_book
from vaxnet.booking.slip import appointment_slip_pdf, qr_payload
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account

from .test_appointments import NOW, make_account, make_member, make_session

pytestmark = pytest.mark.django_db
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "slips"


def _book(facility: Facility, language: str, name: str) -> Appointment:
    account = make_account(facility.country, "+919812300000", language=language)
    member = make_member(account, 3, name=name)
    session: Session = make_session(facility)
    slot = session.slots.order_by("starts_at").first()
    assert slot is not None
    (appointment,) = appointment_book(beneficiaries=[member], session=session, slot=slot, now=NOW)
    return appointment


def _render(pdf: bytes, stem: str) -> tuple[str, Image.Image]:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{stem}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-singlefile", str(path), str(OUTPUT / stem)], check=True
    )
    return text, Image.open(OUTPUT / f"{stem}.png")


@pytest.mark.parametrize(
    ("language", "name", "expected"),
    [
        ("en", "Asha Devi", "Security code"),
        ("hi", "आशा देवी", "आशा देवी"),
        ("ta", "ஆஷா தேவி", "ஆஷா தேவி"),
    ],
)
def test_it_renders_a_slip_whose_qr_code_scans(
    hill_phc: Facility, language: str, name: str, expected: str
) -> None:
    appointment = _book(hill_phc, language, name)

    text, image = _render(appointment_slip_pdf(appointment), f"slip-{language}")

    assert expected.replace(" ", "") in text.replace(" ", "")  # extraction splits shaped syllables
    assert appointment.beneficiary.reference in text
    assert appointment.security_code in text.replace(" ", "")
    codes = zxingcpp.read_barcodes(image)
    assert [code.text for code in codes] == [qr_payload(appointment)]


def test_it_serves_the_slip_to_the_account_only(client: Client, hill_phc: Facility) -> None:
    appointment = _book(hill_phc, "en", "Asha Devi")
    url = f"/account/appointments/{appointment.public_id}/slip.pdf"
    owner = appointment.beneficiary.account
    assert owner is not None
    stranger: Account = make_account(hill_phc.country, "+919812399999")

    session = client.session
    session["vaxnet_account"] = stranger.pk
    session.save()
    assert client.get(url).status_code == 404

    session = client.session
    session["vaxnet_account"] = owner.pk
    session.save()
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
