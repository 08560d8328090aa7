"""What a process keeps between dashboard requests, and what it asks the database each time."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries
from pytest_django.fixtures import Settings

from vaxnet.countries.models import Country
from vaxnet.dashboard import queries
from vaxnet.dashboard.models import TallyChange, TallyState
from vaxnet.dashboard.services import FOLD_EVERY, facts_tallied, fold_if_stale, tallies_fold_all

from .conftest import numbers


def _dose_in(country: Country) -> tuple[object, ...]:
    """Return the fact of a dose given today in the country's own region (dashboard.facts)."""
    root = queries.outline(country).root
    today = timezone.localdate().isoformat()
    return ("dose", today, 10, root.pk, "COVISHIELD", 1, "public", "45-59", "female")


def _served() -> Country:
    country = queries.served_country()
    assert country is not None
    return country


def test_the_numbers_are_as_of_the_fold_they_were_read_with(shown: Country, client: Client) -> None:
    facts_tallied([_dose_in(shown)])
    tallies_fold_all()
    folded_at = TallyState.objects.get(pk=1).folded_at
    assert folded_at is not None and folded_at.microsecond  # the stamp keeps its microseconds
    data = client.get("/api/v1/dashboard").json()
    assert data["doses"]["total"] == 1
    assert data["as_of"] == folded_at.isoformat()
    assert data["doses"]["as_of"] == data["coverage"]["as_of"] == folded_at.isoformat()


def test_numbers_never_counted_are_as_of_no_time(shown: Country) -> None:
    TallyState.objects.all().delete()
    data = numbers(shown)  # folding nothing pending leaves the state as it is
    assert data["doses"]["total"] == 0
    TallyState.objects.all().delete()
    queries.forget_kept()
    assert queries.dashboard(queries.query_of(shown))["as_of"] is None


def test_a_process_asks_for_the_fold_only_once_it_is_due(
    shown: Country, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Nothing seen yet: the database is asked, the fold made and its time remembered.
    folded_at = fold_if_stale()
    assert folded_at is not None
    assert folded_at == TallyState.objects.get(pk=1).folded_at == queries.folded_seen()
    facts_tallied([_dose_in(shown)])
    # Seen folded just now: nothing asked, nothing folded.
    with django_assert_num_queries(0):
        assert fold_if_stale(folded_at + FOLD_EVERY - timedelta(seconds=1)) == folded_at
    assert TallyChange.objects.count() == 1
    # Due: the pending change is folded, and the new time is what the process knows.
    later = fold_if_stale(folded_at + FOLD_EVERY)
    assert later is not None and later > folded_at
    assert not TallyChange.objects.exists()
    assert queries.folded_seen() == later


def test_a_fold_by_another_process_is_seen_without_folding_again(shown: Country) -> None:
    mine = fold_if_stale()
    assert mine is not None
    theirs = mine + FOLD_EVERY
    TallyState.objects.filter(pk=1).update(folded_at=theirs)
    facts_tallied([_dose_in(shown)])
    assert fold_if_stale(theirs + timedelta(seconds=1)) == theirs
    assert TallyChange.objects.count() == 1  # theirs was recent enough: not folded here
    assert queries.folded_seen() == theirs


def test_the_served_country_is_kept_a_while_then_read_again(
    country: Country,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    assert queries.served_country() == country
    with django_assert_num_queries(0):
        kept = queries.served_country()
    assert kept == country
    Country.objects.filter(pk=country.pk).update(pack_digest="changed")
    assert _served().pack_digest == country.pack_digest  # still the kept one
    monkeypatch.setattr(queries, "OUTLINE_SECONDS", 0)
    with django_assert_num_queries(1):
        assert _served().pack_digest == "changed"


def test_a_country_not_loaded_yet_is_looked_for_at_each_request(
    country: Country,
    settings: Settings,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    settings.VAXNET_COUNTRY = "XX"
    assert queries.served_country() is None
    settings.VAXNET_COUNTRY = country.code
    with django_assert_num_queries(1):
        assert queries.served_country() == country


SETTINGS = "SELECT current_setting('jit'), current_setting('max_parallel_workers_per_gather')"


@pytest.mark.django_db(transaction=True)
def test_the_planner_settings_of_a_read_last_for_that_read_alone() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner settings")
    with connection.cursor() as cursor:
        cursor.execute(SETTINGS)
        before = cursor.fetchone()
    country = queries.served_country()
    assert country is not None
    assert queries.dashboard(queries.query_of(country, day=timezone.localdate().isoformat()))
    with connection.cursor() as cursor:
        cursor.execute(SETTINGS)
        assert cursor.fetchone() == before
