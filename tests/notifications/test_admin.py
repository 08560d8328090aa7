"""National administrators read the outbox in the admin; nobody edits it or reads an OTP."""

import pytest
from django.test import Client

from tests.notifications.conftest import PHONE
from vaxnet.core.models import User
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_enqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    user = User.objects.create_superuser("root", password="a long admin password")
    client.force_login(user)
    return client


@pytest.fixture
def otp() -> Message:
    return message_enqueue(to=PHONE, language="en", template="otp", context={"code": "493817"})


def test_it_lists_the_outbox_without_phone_numbers_or_codes(
    admin_client: Client, otp: Message
) -> None:
    response = admin_client.get("/admin/notifications/message/?status=queued")

    assert response.status_code == 200
    page = response.content.decode()
    assert otp.public_id in page
    assert "3210" in page and PHONE not in page
    assert "493817" not in page


def test_it_shows_a_queued_otp_with_its_code_masked(admin_client: Client, otp: Message) -> None:
    response = admin_client.get(f"/admin/notifications/message/{otp.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "is your vaccination sign-in code" in page
    assert "493817" not in page and PHONE not in page


def test_it_lets_nobody_add_or_change_a_message(admin_client: Client, otp: Message) -> None:
    assert admin_client.get("/admin/notifications/message/add/").status_code == 403
    response = admin_client.post(
        f"/admin/notifications/message/{otp.pk}/change/", {"status": "sent"}
    )
    assert response.status_code == 403
    otp.refresh_from_db()
    assert otp.status == Message.Status.QUEUED
