"""Availability around a fair draw: places shown in the window, none until the draw is made."""

from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from vaxnet.booking import availability
from vaxnet.booking.draw import draw_close, draw_enter, draw_prepare
from vaxnet.booking.models import Draw, Session
from vaxnet.booking.planning import SlotSpec
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility

from .test_appointments import NOW, make_account, make_member, make_session

pytestmark = pytest.mark.django_db

OPENS = NOW - timedelta(minutes=5)  # the TEST pack's window is 10 minutes: open at NOW
CLOSES = OPENS + timedelta(minutes=10)
PENDING = CLOSES + timedelta(minutes=1)  # the window is over, the draw not made yet


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _session(facility: Facility) -> Session:
    session = make_session(
        facility,
        capacity={1: (3, 0)},
        slots=[SlotSpec(time(9), time(11), 3)],
        release_at=OPENS,
    )
    return Session.objects.get(pk=session.pk)


def _places(at: Any) -> tuple[int, list[int]]:
    """Return the session's online places and seats per slot, as the v1 API answers them."""
    with time_machine.travel(at, tick=False):
        response = Client().get("/api/v1/sessions", {"district": "TS-N-HIL"})
    assert response.status_code == 200, response.content
    (centre,) = response.json()["centres"]
    (session,) = centre["sessions"]
    return session["available"], [slot["seats"] for slot in session["slots"]]


def _enter(country: Country, session: Session) -> None:
    member = make_member(make_account(country, "+919700000001"), 1)
    draw_enter(beneficiaries=[member], session=session, slot=session.slots.get(), now=NOW)


def test_it_shows_the_places_during_the_window_and_none_until_the_draw(
    country: Country, hill_phc: Facility, django_capture_on_commit_callbacks: Any
) -> None:
    session = _session(hill_phc)
    _enter(country, session)

    assert _places(NOW) == (3, [3])
    assert _places(PENDING) == (0, [0])

    with django_capture_on_commit_callbacks(execute=True):
        draw_close(draw=Draw.objects.get(session=session), now=PENDING)

    assert _places(PENDING) == (2, [2])  # the winner has one; the rest is first come


def test_it_keeps_answers_only_until_the_window_closes(
    country: Country, hill_phc: Facility
) -> None:
    session = _session(hill_phc)
    _enter(country, session)
    found = availability.sessions(
        {"pk": hill_phc.pk}, start=NOW.date(), days=7, now=NOW, vaccine=""
    )

    assert found.changes_at == CLOSES
    assert _places(CLOSES - timedelta(seconds=1)) == (3, [3])  # kept for the last second
    assert _places(CLOSES + timedelta(seconds=1)) == (0, [0])  # …and not a moment longer


def test_it_makes_the_kept_answer_stale_when_the_draw_is_made(
    country: Country, hill_phc: Facility, django_capture_on_commit_callbacks: Any
) -> None:
    session = _session(hill_phc)
    _enter(country, session)
    assert _places(PENDING) == (0, [0])  # kept now, for up to CACHE_SECONDS

    with (
        time_machine.travel(PENDING, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        draw_close(draw=Draw.objects.get(session=session), now=PENDING)

    assert _places(PENDING) == (2, [2])


def test_it_holds_back_the_places_of_a_prepared_draw_without_entries(
    hill_phc: Facility, django_capture_on_commit_callbacks: Any
) -> None:
    session = _session(hill_phc)
    draw_prepare(session=session)

    assert _places(PENDING) == (0, [0])
    with django_capture_on_commit_callbacks(execute=True):
        draw_close(draw=Draw.objects.get(session=session), now=PENDING)
    assert _places(PENDING) == (3, [3])


def test_it_counts_places_without_a_draw_once_the_window_is_over(hill_phc: Facility) -> None:
    _session(hill_phc)  # nobody entered, no draw was prepared: nothing to wait for

    assert _places(PENDING) == (3, [3])


def test_it_reads_whether_draws_are_pending_in_the_same_query(
    country: Country, hill_phc: Facility, django_assert_max_num_queries: Any
) -> None:
    for _n in range(3):
        draw_prepare(session=_session(hill_phc))
    with django_assert_max_num_queries(4):
        found = availability.sessions(
            {"pk": hill_phc.pk}, start=NOW.date(), days=7, now=PENDING, vaccine=""
        )

    (centre,) = found.centres
    assert [item.total for item in centre.sessions] == [0, 0, 0]
    assert not availability.open_for_booking(
        Session.objects.get(pk=centre.sessions[0].session.pk), PENDING
    )


def test_it_shows_the_search_page_no_places_while_the_draw_is_being_made(
    country: Country, hill_phc: Facility
) -> None:
    session = _session(hill_phc)
    _enter(country, session)
    search = {"region": "TS-N-HIL", "day": NOW.date().isoformat()}

    with time_machine.travel(NOW, tick=False):
        during = Client().get("/book/", search).content.decode()
    with time_machine.travel(PENDING, tick=False):
        pending = Client().get("/book/", search).content.decode()

    assert "The fair draw for this session is being made" not in during
    assert "Places left online" in during
    assert "The fair draw for this session is being made" in pending
    assert "Places left online" not in pending
    assert "place left" not in pending
