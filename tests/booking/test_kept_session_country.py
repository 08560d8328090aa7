"""A session read for booking carries its centre's country: judging it takes no query."""

from collections.abc import Iterator

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.factories import NOW, plan
from vaxnet.booking.citizen_queries import kept_session_for_booking, session_forget
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_judges_a_session_read_for_booking_without_a_query(
    country: Country, hill_phc: Facility
) -> None:
    public_id = plan(hill_phc).public_id
    session_forget(public_id)
    try:
        read, kept = kept_session_for_booking(country, public_id)
        again, kept_again = kept_session_for_booking(country, public_id)
    finally:
        session_forget(public_id)

    assert read is not None and again is not None
    assert (kept, kept_again) == (False, True)
    with CaptureQueriesContext(connection) as queries:
        assert read.booking_refusal(timezone.now()) is None
        assert again.booking_refusal(timezone.now()) is None
    assert len(queries) == 0
    assert read.facility.country.pk == hill_phc.country_id
    assert read.facility.country.config == Country.objects.get(pk=country.pk).config
