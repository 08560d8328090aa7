"""Certificate downloads: rendered once and kept, on the pages, the CoWIN path and /api/v1/."""

import subprocess
import tempfile
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from vaxnet.api.cowin_v2_auth import public_token_text
from vaxnet.api.v1_auth import api_token_issue, token_text
from vaxnet.booking.models import Session
from vaxnet.certificates.documents import (
    certificate_document,
    current_certificate,
    document_choice,
    pdf_filename,
)
from vaxnet.certificates.models import Certificate, CertificateDocument
from vaxnet.certificates.services import certificate_sign, certificates_reissue
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.auth import SESSION_KEY
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch

from ..booking.test_appointments import make_account, make_member
from .conftest import give_dose

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

COWIN = "/api/v2/registration/certificate/public/download"


@pytest.fixture
def dosed(asha: Beneficiary, today_session: Session, batch: Batch, vaccinator: User) -> Beneficiary:
    """Asha with both doses of COVISHIELD: a final certificate, not signed yet."""
    give_dose(asha, 1, session=today_session, batch=batch, by=vaccinator, days_ago=90)
    give_dose(asha, 2, session=today_session, batch=batch, by=vaccinator)
    return asha


@pytest.fixture
def stranger(country: Country) -> Beneficiary:
    """Someone registered on another account."""
    return make_member(make_account(country, "+919800000077"), 7, name="Stranger")


def _text(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        done = subprocess.run(
            ["pdftotext", "-layout", file.name, "-"],
            capture_output=True,
            check=True,
        )
    return done.stdout.decode()


def _signed_in(account: Account) -> Client:
    client = Client()
    session = client.session
    session[SESSION_KEY] = account.pk
    session.save()
    return client


def _download(person: Beneficiary, **choice: object) -> bytes:
    certificate = current_certificate(person)
    return certificate_document(
        certificate=certificate,
        language=str(choice.get("language", "en")),
        variant=str(choice.get("variant", "domestic")),
        codes=tuple(choice.get("codes", ())),  # type: ignore[arg-type]
    )


# The service


def test_it_renders_once_and_keeps_the_pdf(dosed: Beneficiary) -> None:
    first = _download(dosed, language="hi")

    assert first.startswith(b"%PDF-")
    certificate = Certificate.objects.get(beneficiary=dosed, status="valid")
    assert certificate.is_signed()
    assert list(CertificateDocument.objects.values_list("language", "variant", "codes")) == [
        ("hi", "domestic", "w3c_vc")
    ]
    text = _text(first)
    assert "Asha" in text
    assert certificate.uvci in text.replace(" ", "")
    assert _download(dosed, language="hi") == first
    assert CertificateDocument.objects.count() == 1


def test_a_kept_pdf_takes_three_lean_queries(dosed: Beneficiary, citizen: Account) -> None:
    kept = _download(dosed, language="hi")

    with CaptureQueriesContext(connection) as queries:
        person = beneficiary_for_account(citizen, dosed.reference)
        certificate = current_certificate(person)
        again = certificate_document(
            certificate=certificate, language="hi", variant="domestic", codes=()
        )

    assert again == kept
    sqls = [query["sql"] for query in queries.captured_queries]
    assert len(sqls) == 3, sqls
    assert '"record"' not in sqls[1] and '"kids"' not in sqls[1]
    assert sqls[2].startswith('SELECT "certificates_certificatedocument"."pdf" AS "pdf" FROM')


def test_english_and_hindi_are_kept_apart(dosed: Beneficiary) -> None:
    english = _download(dosed, language="en")
    hindi = _download(dosed, language="hi")

    assert english != hindi
    assert "Certificate for COVID-19 vaccination" in _text(english)
    assert sorted(CertificateDocument.objects.values_list("language", flat=True)) == ["en", "hi"]


def test_it_checks_the_choice(dosed: Beneficiary) -> None:
    certificate = current_certificate(dosed)

    _signed, choice = document_choice(
        certificate=certificate, language="fr", variant="domestic", codes=()
    )
    assert (choice.language, choice.variant, choice.codes) == ("en", "domestic", ("w3c_vc",))

    _signed, choice = document_choice(
        certificate=certificate, language="hi", variant="international", codes=()
    )
    # The international certificate is English only; COVISHIELD has the EU value-set codes.
    assert (choice.language, choice.codes) == ("en", ("eu_dcc", "shc"))

    _signed, choice = document_choice(
        certificate=certificate, language="ta", variant="domestic", codes=["shc", "w3c_vc"]
    )
    assert (choice.language, choice.key) == ("ta", "w3c_vc+shc")

    with pytest.raises(DomainError) as refused:
        document_choice(certificate=certificate, language="en", variant="poster", codes=())
    assert (refused.value.code, refused.value.status) == ("certificate_variant", 400)

    with pytest.raises(DomainError) as refused:
        document_choice(certificate=certificate, language="en", variant="domestic", codes=["qr"])
    assert (refused.value.code, refused.value.status) == ("certificate_codes", 400)


def test_a_code_without_a_payload_is_refused(dosed: Beneficiary) -> None:
    certificate = current_certificate(dosed)
    _download(dosed)
    Certificate.objects.filter(pk=certificate.pk).update(
        payloads={
            k: v
            for k, v in Certificate.objects.get(pk=certificate.pk).payloads.items()
            if k != "eu_dcc"
        }
    )

    with pytest.raises(DomainError) as refused:
        document_choice(
            certificate=current_certificate(dosed),
            language="en",
            variant="international",
            codes=["eu_dcc"],
        )
    assert refused.value.code == "certificate_codes"
    _signed, choice = document_choice(
        certificate=current_certificate(dosed), language="en", variant="international", codes=()
    )
    assert choice.codes == ("shc",)


def test_a_redownload_shows_the_corrected_name(dosed: Beneficiary) -> None:
    before = _download(dosed, language="hi")
    old = Certificate.objects.get(beneficiary=dosed, status="valid").uvci
    Beneficiary.objects.filter(pk=dosed.pk).update(name="Asha Devi")
    certificates_reissue(beneficiary_id=dosed.pk, revoked_for="correction")

    after = _download(dosed, language="hi")

    new = Certificate.objects.get(beneficiary=dosed, status="valid").uvci
    assert new != old
    text = _text(after).replace(" ", "")
    assert "AshaDevi" in text and new in text and old not in text
    assert "AshaDevi" not in _text(before).replace(" ", "")


def test_the_file_name_carries_the_version_and_language(dosed: Beneficiary) -> None:
    certificate = current_certificate(dosed)
    opaque = certificate.uvci.split(":")[-1].split("#")[0]

    assert pdf_filename(certificate, "hi") == f"vaccination-certificate-{opaque}-v2-hi.pdf"


@pytest.mark.django_db(transaction=True)
def test_racing_first_downloads_keep_one_document(dosed: Beneficiary) -> None:
    results: list[bytes] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def download() -> None:
        try:
            barrier.wait()
            results.append(_download(dosed, language="hi"))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert CertificateDocument.objects.count() == 1
    kept = bytes(CertificateDocument.objects.get().pdf)
    assert results == [kept] * 4


# The pages


def test_the_page_lists_the_certificates(dosed: Beneficiary, citizen: Account) -> None:
    client = _signed_in(citizen)
    assert 'href="/account/certificates/"' in client.get("/account/").content.decode()

    response = client.get("/account/certificates/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Asha" in page and "Final" in page
    assert f'action="/account/certificates/{dosed.reference}/covid19.pdf"' in page
    assert 'value="eu_dcc"' in page and 'value="hi"' in page and 'value="international"' in page


def test_the_page_sends_signed_out_visitors_to_sign_in(dosed: Beneficiary) -> None:
    response = Client().get(f"/account/certificates/{dosed.reference}/covid19.pdf")

    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


def test_the_page_downloads_the_pdf(dosed: Beneficiary, citizen: Account) -> None:
    client = _signed_in(citizen)
    url = f"/account/certificates/{dosed.reference}/covid19.pdf"

    response = client.get(url, {"language": "hi", "variant": "international", "codes": ["shc"]})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    certificate = current_certificate(dosed)
    assert response["Content-Disposition"] == (
        f'attachment; filename="{pdf_filename(certificate, "en")}"'
    )
    assert "private" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")
    assert list(CertificateDocument.objects.values_list("language", "variant", "codes")) == [
        ("en", "international", "shc")
    ]
    repeat = client.get(
        url,
        {"language": "hi", "variant": "international", "codes": "shc"},
        HTTP_IF_NONE_MATCH=response["ETag"],
    )
    assert repeat.status_code == 304


def test_a_repeat_page_download_is_lean(dosed: Beneficiary, citizen: Account) -> None:
    client = _signed_in(citizen)
    url = f"/account/certificates/{dosed.reference}/covid19.pdf?language=hi"
    first = client.get(url)

    with CaptureQueriesContext(connection) as queries:
        again = client.get(url)

    assert again.content == first.content
    # The session, the account, then the person, the certificate and the kept PDF.
    assert len(queries.captured_queries) == 5, [q["sql"] for q in queries.captured_queries]


def test_the_page_refuses_bad_choices(dosed: Beneficiary, citizen: Account) -> None:
    client = _signed_in(citizen)
    url = f"/account/certificates/{dosed.reference}/covid19.pdf"

    assert client.get(url, {"variant": "poster"}).status_code == 400
    assert client.get(url, {"codes": "barcode"}).status_code == 400
    assert CertificateDocument.objects.count() == 0


def test_the_page_hides_other_peoples_certificates(
    dosed: Beneficiary, citizen: Account, stranger: Beneficiary
) -> None:
    client = _signed_in(citizen)

    assert client.get(f"/account/certificates/{stranger.reference}/covid19.pdf").status_code == 404
    assert client.get(f"/account/certificates/{dosed.reference}/measles.pdf").status_code == 404


# The CoWIN path


def _public_token(account: Account) -> str:
    return public_token_text(api_token_issue(account=account).public_id)


def test_cowin_downloads_in_the_accounts_language(dosed: Beneficiary, citizen: Account) -> None:
    response = Client().get(
        COWIN,
        {"beneficiary_reference_id": dosed.reference},
        HTTP_AUTHORIZATION=f"Bearer {_public_token(citizen)}",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert list(CertificateDocument.objects.values_list("language", "variant", "codes")) == [
        ("hi", "domestic", "w3c_vc")
    ]


def test_a_repeat_cowin_download_reads_the_kept_pdf_in_one_query(
    dosed: Beneficiary, citizen: Account
) -> None:
    client = Client()
    auth = {"Authorization": f"Bearer {_public_token(citizen)}"}
    first = client.get(COWIN, {"beneficiary_reference_id": dosed.reference}, headers=auth)

    with CaptureQueriesContext(connection) as queries:
        again = client.get(COWIN, {"beneficiary_reference_id": dosed.reference}, headers=auth)

    assert again.status_code == 200
    assert again.content == first.content
    assert (again["ETag"], again["Content-Disposition"]) == (
        first["ETag"],
        first["Content-Disposition"],
    )
    # The token, then the kept PDF: nothing else.
    sqls = [q["sql"] for q in queries.captured_queries]
    assert len(sqls) == 2, sqls
    assert "certificates_certificatedocument" in sqls[1]
    held = client.get(
        COWIN,
        {"beneficiary_reference_id": dosed.reference},
        headers={**auth, "If-None-Match": first["ETag"]},
    )
    assert held.status_code == 304


def test_a_first_cowin_render_reads_twice_and_writes_once(
    dosed: Beneficiary, citizen: Account
) -> None:
    certificate_sign(Certificate.objects.get(beneficiary=dosed, status="valid"))
    auth = {"Authorization": f"Bearer {_public_token(citizen)}"}

    with CaptureQueriesContext(connection) as queries:
        response = Client().get(COWIN, {"beneficiary_reference_id": dosed.reference}, headers=auth)

    assert response.status_code == 200
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    # The token; no kept PDF; the certificate with its person and signed data; the PDF kept.
    assert len(statements) == 4, statements
    assert "certificates_certificatedocument" in statements[1]
    assert "certificates_certificatedocument" in statements[3]
    assert CertificateDocument.objects.get().pdf == response.content


def test_cowin_takes_the_appointment_token_too(dosed: Beneficiary, citizen: Account) -> None:
    token = token_text(api_token_issue(account=citizen).public_id)

    response = Client().get(
        COWIN, {"beneficiary_reference_id": dosed.reference}, HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert response.status_code == 200


def test_cowin_refusals(dosed: Beneficiary, citizen: Account, stranger: Beneficiary) -> None:
    auth = {"Authorization": f"Bearer {_public_token(citizen)}"}
    client = Client()

    assert client.get(COWIN, {"beneficiary_reference_id": dosed.reference}).status_code == 401
    bad = client.get(
        COWIN, {"beneficiary_reference_id": dosed.reference}, HTTP_AUTHORIZATION="Bearer nope"
    )
    assert bad.status_code == 401
    missing = client.get(COWIN, headers=auth)
    assert (missing.status_code, missing.json()["errorCode"]) == (400, "USRRES0001")
    empty = client.get(COWIN, {"beneficiary_reference_id": ""}, headers=auth)
    assert (empty.status_code, empty.json()["errorCode"]) == (400, "USRRES0001")
    theirs = client.get(COWIN, {"beneficiary_reference_id": stranger.reference}, headers=auth)
    assert (theirs.status_code, theirs.json()["errorCode"]) == (404, "USRRES0101")


def test_cowin_answers_404_without_a_certificate(asha: Beneficiary, citizen: Account) -> None:
    response = Client().get(
        COWIN,
        {"beneficiary_reference_id": asha.reference},
        HTTP_AUTHORIZATION=f"Bearer {_public_token(citizen)}",
    )

    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"errorCode", "error"}
    # The message is in the account's language (Hindi once translated): not compared here.
    assert body["errorCode"] == "CERTIF0101" and body["error"]


# /api/v1/


def _v1(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_text(api_token_issue(account=account).public_id)}"}


def test_v1_lists_the_certificates_with_their_payloads(
    dosed: Beneficiary, citizen: Account
) -> None:
    response = Client().get(
        f"/api/v1/beneficiaries/{dosed.reference}/certificates", headers=_v1(citizen)
    )

    assert response.status_code == 200
    (listed,) = response.json()["certificates"]
    certificate = Certificate.objects.get(beneficiary=dosed, status="valid")
    assert {k: listed[k] for k in ("uvci", "kind", "version", "doses", "status")} == {
        "uvci": certificate.uvci,
        "kind": "final",
        "version": 2,
        "doses": 2,
        "status": "valid",
    }
    assert sorted(listed["payloads"]) == ["eu_dcc", "shc", "w3c_vc"]
    assert listed["payloads"]["eu_dcc"].startswith("HC1:")
    assert listed["payloads"]["shc"].startswith("shc:/")


def test_v1_downloads_the_chosen_pdf(dosed: Beneficiary, citizen: Account) -> None:
    response = Client().get(
        f"/api/v1/beneficiaries/{dosed.reference}/certificate.pdf",
        {"language": "ta", "codes": "shc,w3c_vc"},
        headers=_v1(citizen),
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert list(CertificateDocument.objects.values_list("language", "variant", "codes")) == [
        ("ta", "domestic", "w3c_vc+shc")
    ]


def test_v1_refusals(dosed: Beneficiary, citizen: Account, stranger: Beneficiary) -> None:
    auth = _v1(citizen)
    client = Client()
    base = f"/api/v1/beneficiaries/{dosed.reference}"

    assert client.get(f"{base}/certificate.pdf").status_code == 401
    bad = client.get(f"{base}/certificate.pdf", {"variant": "poster"}, headers=auth)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "certificate_variant")
    bad = client.get(f"{base}/certificate.pdf", {"codes": "qr"}, headers=auth)
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "certificate_codes")
    theirs = f"/api/v1/beneficiaries/{stranger.reference}"
    assert client.get(f"{theirs}/certificate.pdf", headers=auth).status_code == 404
    assert client.get(f"{theirs}/certificates", headers=auth).status_code == 404
