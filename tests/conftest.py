"""The shared test base: the TEST country, loaded once per database, and named personas.

Personas (healthchecks-style): at Hill Town PHC in North State's Hill District work
`verifier`, `vaccinator` and `manager`; `store_keeper` runs its store; `district_admin`
administers Hill District, `state_admin` North State, `national_admin` the country;
`outsider` is a vaccinator at Sea Port Hospital in South State.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.test import Client, override_settings
from hypothesis import settings as hypothesis_settings

from vaxnet.certificates.keys import KeyStore, keystore
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.countries.pack import read_pack
from vaxnet.countries.services import country_load
from vaxnet.dashboard.queries import forget_kept
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.geo.models import Region

# Property tests: 100 examples each in the everyday suite; HYPOTHESIS_PROFILE=thorough for more.
hypothesis_settings.register_profile("default", max_examples=100, deadline=None)
hypothesis_settings.register_profile("thorough", max_examples=2000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[None]:
    """Load the TEST pack into each test database once; tests roll back around it."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        country_load(pack=read_pack("TEST"))
    yield


@pytest.fixture(scope="session", autouse=True)
def certificate_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyStore]:
    """Give each test process its own certificate signing keys, made once."""
    folder = tmp_path_factory.mktemp("keys")
    with override_settings(CERTIFICATE_KEYS_DIR=folder):
        store = keystore()
        # Made before any test clock, valid long after: tests sign at many dates.
        store.generate(
            country="TS",
            issuer="Ministry of Health, Testland",
            now=datetime(2024, 1, 1, tzinfo=UTC),
            signer_years=30,
        )
        yield store


@pytest.fixture(autouse=True)
def _pack_for_transactional_tests(request: pytest.FixtureRequest) -> None:
    """Tests that race real threads commit and then empty the tables: give them the pack again."""
    transactional = "transactional_db" in request.fixturenames or any(
        marker.kwargs.get("transaction") for marker in request.node.iter_markers("django_db")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        if not Country.objects.filter(code="TEST").exists():
            country_load(pack=read_pack("TEST"))


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    """Each test reads the country, its regions and vaccines and the tallies' state afresh."""
    forget_kept()


@pytest.fixture
def country(db: None) -> Country:
    return Country.objects.get(code="TEST")


@pytest.fixture
def hill(db: None) -> Region:
    return Region.objects.get(code="TS-N-HIL")


@pytest.fixture
def north(db: None) -> Region:
    return Region.objects.get(code="TS-N")


@pytest.fixture
def hill_phc(db: None) -> Facility:
    return Facility.objects.get(code="TS-F1")


@pytest.fixture
def river_clinic(db: None) -> Facility:
    return Facility.objects.get(code="TS-F2")


@pytest.fixture
def sea_hospital(db: None) -> Facility:
    return Facility.objects.get(code="TS-F3")


def _staff(
    username: str, role: str, *, facility: Facility | None = None, region: Region | None = None
) -> User:
    user = User.objects.create_user(username=username, password="correct horse battery staple")
    StaffMembership.objects.create(user=user, role=role, facility=facility, region=region)
    return user


@pytest.fixture
def verifier(hill_phc: Facility) -> User:
    return _staff("verifier", Role.VERIFIER, facility=hill_phc)


@pytest.fixture
def vaccinator(hill_phc: Facility) -> User:
    return _staff("vaccinator", Role.VACCINATOR, facility=hill_phc)


@pytest.fixture
def manager(hill_phc: Facility) -> User:
    return _staff("manager", Role.FACILITY_MANAGER, facility=hill_phc)


@pytest.fixture
def store_keeper(hill_phc: Facility) -> User:
    return _staff("store_keeper", Role.STORE_KEEPER, facility=hill_phc)


@pytest.fixture
def district_admin(hill: Region) -> User:
    return _staff("district_admin", Role.DISTRICT_ADMIN, region=hill)


@pytest.fixture
def state_admin(north: Region) -> User:
    return _staff("state_admin", Role.STATE_ADMIN, region=north)


@pytest.fixture
def national_admin(db: None) -> User:
    return _staff("national_admin", Role.NATIONAL_ADMIN, region=Region.objects.get(code="TEST"))


@pytest.fixture
def outsider(sea_hospital: Facility) -> User:
    return _staff("outsider", Role.VACCINATOR, facility=sea_hospital)


@pytest.fixture
def client() -> Client:
    return Client()
