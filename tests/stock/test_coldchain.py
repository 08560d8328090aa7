"""Cold chain services: logger keys, readings and their checks, excursions and VVM flags."""

import hashlib
import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pytest_django.fixtures import Settings

from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.stock.coldchain import (
    MAX_READINGS,
    device_key_hash,
    equipment_add,
    equipment_for_device_key,
    equipment_rotate_key,
    excursion_acknowledge,
    reading_record,
    readings_ingest,
)
from vaxnet.stock.models import (
    Balance,
    Batch,
    Equipment,
    Excursion,
    Store,
    TemperatureReading,
)
from vaxnet.vaccines.models import Vaccine

from .ledger_helpers import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

T0 = NOW - timedelta(days=1)


def at(minutes: int) -> datetime:
    """Return the moment some minutes after T0, a day before the test's clock."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def store(hill_phc: Facility) -> Store:
    store = Store(name="Hill Town PHC store", level="facility", region=hill_phc.region)
    store.facility = hill_phc
    store.save()
    return store


@pytest.fixture
def fridge(store: Store, store_keeper: User) -> Equipment:
    equipment, _key = equipment_add(
        store=store, kind=Equipment.Kind.ICE_LINED_REFRIGERATOR, label="ILR 1", by=store_keeper
    )
    return equipment


def _batch(lot: str) -> Batch:
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    return Batch.objects.create(
        vaccine=vaccine,
        lot_number=lot,
        manufacturer="Serum Institute",
        expires_on=date(2027, 1, 31),
        doses_per_vial=10,
    )


def _spans(equipment: Equipment) -> list[tuple[str, datetime, datetime | None, Decimal, Decimal]]:
    return [
        (e.kind, e.started_at, e.ended_at, e.lowest, e.highest)
        for e in equipment.excursions.order_by("started_at")
    ]


# Keys


def test_it_hands_out_a_key_once_and_keeps_only_its_keyed_hash(
    store: Store, store_keeper: User
) -> None:
    equipment, key = equipment_add(
        store=store,
        kind=Equipment.Kind.REFRIGERATOR,
        label=" Fridge 2 ",
        make="Vestfrost",
        model="MK 304",
        by=store_keeper,
    )

    equipment.refresh_from_db()
    assert len(key) >= 40
    assert equipment.label == "Fridge 2"
    assert equipment.device_key_hash == device_key_hash(key)
    assert equipment.device_key_hash != hashlib.sha256(key.encode()).hexdigest()
    row = Equipment.objects.filter(pk=equipment.pk).values().get()
    assert not any(key in str(value) for value in row.values())
    event = AuditEvent.objects.get(action="equipment.add", object_id=str(equipment.pk))
    assert key not in str(event.data)
    assert equipment_for_device_key(key) == equipment
    assert equipment_for_device_key(key + "x") is None
    assert equipment_for_device_key("") is None
    assert equipment_for_device_key("k" * 5000) is None


def test_it_ends_the_old_key_when_it_gives_a_new_one(fridge: Equipment, store_keeper: User) -> None:
    new = equipment_rotate_key(equipment=fridge, by=store_keeper)

    assert equipment_for_device_key(new) == fridge
    assert Equipment.objects.filter(device_key_hash=device_key_hash(new)).count() == 1
    assert AuditEvent.objects.filter(action="equipment.rotate_key").count() == 1


def test_it_still_knows_a_key_hashed_with_a_retired_secret(
    store: Store, store_keeper: User, settings: Settings
) -> None:
    equipment, key = equipment_add(
        store=store, kind=Equipment.Kind.COLD_BOX, label="Box", by=store_keeper
    )
    old_secret = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key"
    settings.SECRET_KEY_FALLBACKS = [old_secret]

    assert equipment_for_device_key(key) == equipment
    equipment.refresh_from_db()
    assert equipment.device_key_hash == device_key_hash(key)

    settings.SECRET_KEY_FALLBACKS = []
    assert equipment_for_device_key(key) == equipment


def test_it_refuses_the_key_of_equipment_out_of_use(store: Store, store_keeper: User) -> None:
    equipment, key = equipment_add(
        store=store, kind=Equipment.Kind.FREEZER, label="Freezer", by=store_keeper
    )
    Equipment.objects.filter(pk=equipment.pk).update(active=False)

    assert equipment_for_device_key(key) is None
    with pytest.raises(DomainError) as refused:
        readings_ingest(equipment=equipment, readings=[(at(0), 5)])
    assert refused.value.code == "equipment_inactive"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"kind": "kettle"}, "equipment_kind_unknown", "kind"),
        ({"label": "  "}, "label_missing", "label"),
        ({"make": "m" * 101}, "too_long", "make"),
    ],
)
def test_it_refuses_equipment_it_cannot_keep(
    store: Store, store_keeper: User, changes: dict[str, str], code: str, field: str
) -> None:
    fields = {"kind": Equipment.Kind.REFRIGERATOR, "label": "Fridge", **changes}

    with pytest.raises(DomainError) as refused:
        equipment_add(store=store, by=store_keeper, **fields)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Equipment.objects.exists()


# Readings


def test_it_skips_readings_already_on_record(fridge: Equipment) -> None:
    batch: list[tuple[datetime, float | Decimal]] = [
        (at(0), 5.0),
        (at(10), 5.5),
        (at(20), Decimal("6.25")),
    ]

    first = readings_ingest(equipment=fridge, readings=batch)
    again = readings_ingest(equipment=fridge, readings=batch)
    overlapping = readings_ingest(
        equipment=fridge,
        readings=[(at(20).astimezone(ZoneInfo("UTC")), 7.0), (at(30), 4.0), (at(30), 9.0)],
    )

    assert (first.accepted, first.duplicates) == (3, 0)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert (overlapping.accepted, overlapping.duplicates) == (1, 2)
    kept = TemperatureReading.objects.filter(equipment=fridge).order_by("at")
    assert [(r.at, r.celsius, r.source) for r in kept] == [
        (at(0), Decimal("5.00"), "logger"),
        (at(10), Decimal("5.50"), "logger"),
        (at(20), Decimal("6.25"), "logger"),
        (at(30), Decimal("4.00"), "logger"),
    ]
    assert AuditEvent.objects.filter(action="temperature.ingest").count() == 2


@pytest.mark.parametrize(
    ("reading", "code", "field"),
    [
        ((datetime(2026, 3, 1, 9, 0), 5), "reading_time_naive", "readings.1.at"),  # noqa: DTZ001
        ((NOW + timedelta(minutes=6), 5), "reading_in_future", "readings.1.at"),
        ((NOW - timedelta(days=400), 5), "reading_too_old", "readings.1.at"),
        ((at(5), -80.01), "reading_out_of_bounds", "readings.1.celsius"),
        ((at(5), 60.01), "reading_out_of_bounds", "readings.1.celsius"),
        ((at(5), float("nan")), "reading_out_of_bounds", "readings.1.celsius"),
        ((at(5), float("inf")), "reading_out_of_bounds", "readings.1.celsius"),
        ((at(5), Decimal("NaN")), "reading_out_of_bounds", "readings.1.celsius"),
        ((at(5), True), "reading_out_of_bounds", "readings.1.celsius"),
    ],
)
def test_it_refuses_a_batch_with_a_reading_that_is_not_valid(
    fridge: Equipment, reading: tuple[datetime, float], code: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        readings_ingest(equipment=fridge, readings=[(at(0), 5.0), reading])

    assert (refused.value.code, refused.value.field, refused.value.status) == (code, field, 422)
    assert str(refused.value.message)
    assert not TemperatureReading.objects.exists()


def test_it_takes_readings_at_the_edges(fridge: Equipment) -> None:
    result = readings_ingest(
        equipment=fridge,
        readings=[(NOW + timedelta(minutes=5), 60), (at(0), -80), (at(1), 4.005)],
    )

    assert result.accepted == 3
    assert TemperatureReading.objects.get(at=at(1)).celsius == Decimal("4.00")


@pytest.mark.parametrize(("count", "code"), [(0, "readings_missing"), (1001, "readings_too_many")])
def test_it_refuses_an_empty_or_oversized_batch(fridge: Equipment, count: int, code: str) -> None:
    readings = [(at(minute), 5.0) for minute in range(count)]
    assert MAX_READINGS == 1000

    with pytest.raises(DomainError) as refused:
        readings_ingest(equipment=fridge, readings=readings)

    assert (refused.value.code, refused.value.status) == (code, 422)


def test_it_records_a_reading_by_hand(fridge: Equipment, store_keeper: User) -> None:
    reading = reading_record(equipment=fridge, at=at(0), celsius=4.5, by=store_keeper)

    assert (reading.source, reading.by, reading.celsius) == ("manual", store_keeper, Decimal("4.5"))
    with pytest.raises(DomainError) as refused:
        reading_record(equipment=fridge, at=at(0), celsius=5, by=store_keeper)
    assert (refused.value.code, refused.value.field) == ("reading_exists", "at")
    with pytest.raises(DomainError) as refused:
        reading_record(equipment=fridge, at=at(5), celsius=99, by=store_keeper)
    assert (refused.value.code, refused.value.field) == ("reading_out_of_bounds", "celsius")


# Excursions


def test_it_raises_a_heat_excursion_once_it_lasts_more_than_an_hour(fridge: Equipment) -> None:
    short = readings_ingest(equipment=fridge, readings=[(at(m), 9.5) for m in range(0, 61, 10)])
    assert not short.raised and not short.open

    longer = readings_ingest(equipment=fridge, readings=[(at(70), 11.25)])

    (excursion,) = longer.raised
    assert longer.open == [excursion]
    assert _spans(fridge) == [("heat", at(0), None, Decimal("9.5"), Decimal("11.25"))]
    assert excursion.alerted_at == NOW
    event = AuditEvent.objects.get(action="excursion.raise")
    assert event.actor_label == f"device:{fridge.public_id}"
    assert event.object_id == str(excursion.pk)


def test_it_lets_a_short_blip_pass(fridge: Equipment) -> None:
    result = readings_ingest(
        equipment=fridge, readings=[(at(0), 5), (at(10), 12), (at(40), 9), (at(60), 6)]
    )

    assert not result.raised
    assert not Excursion.objects.exists()


def test_it_counts_a_run_until_the_reading_that_ends_it(fridge: Equipment) -> None:
    readings_ingest(equipment=fridge, readings=[(at(0), 9), (at(60), 7)])
    assert not Excursion.objects.exists()

    other = Equipment.objects.create(store=fridge.store, kind="refrigerator", label="Fridge 2")
    readings_ingest(equipment=other, readings=[(at(0), 9), (at(61), 7)])
    assert _spans(other) == [("heat", at(0), at(61), Decimal(9), Decimal(9))]


def test_it_takes_the_minutes_from_the_country(fridge: Equipment, country: Country) -> None:
    country.config["stock"] = {"excursion_minutes": 20}
    country.save()

    result = readings_ingest(equipment=fridge, readings=[(at(0), 1.5), (at(25), 1.0)])

    assert [e.kind for e in result.raised] == ["cold"]
    assert _spans(fridge) == [("cold", at(0), None, Decimal(1), Decimal("1.5"))]


def test_it_raises_a_cold_excursion(fridge: Equipment) -> None:
    readings_ingest(
        equipment=fridge,
        readings=[(at(0), 1.9), (at(45), 0.0), (at(90), -0.4), (at(100), 2.0)],
    )

    assert _spans(fridge) == [("cold", at(0), at(100), Decimal("-0.4"), Decimal("1.9"))]


def test_it_raises_a_freeze_excursion_at_once(fridge: Equipment) -> None:
    result = readings_ingest(equipment=fridge, readings=[(at(0), 4), (at(5), -0.5), (at(10), 3)])

    assert [e.kind for e in result.raised] == ["freeze"]
    assert _spans(fridge) == [("freeze", at(5), at(10), Decimal("-0.5"), Decimal("-0.5"))]


def test_it_extends_an_open_excursion_then_ends_it_at_the_first_reading_in_range(
    fridge: Equipment,
) -> None:
    first = readings_ingest(equipment=fridge, readings=[(at(0), 9), (at(90), 10)])
    later = readings_ingest(equipment=fridge, readings=[(at(100), 13)])
    back = readings_ingest(equipment=fridge, readings=[(at(110), 8), (at(120), 12)])

    (excursion,) = first.raised
    assert later.raised == [] and later.open == [excursion]
    assert back.raised == [] and back.open == []
    assert _spans(fridge) == [("heat", at(0), at(110), Decimal(9), Decimal(13))]
    assert Excursion.objects.get().pk == excursion.pk
    assert AuditEvent.objects.filter(action="excursion.raise").count() == 1


def test_it_finds_the_same_excursions_whatever_order_the_batches_come_in(
    store: Store, store_keeper: User
) -> None:
    temperatures = [5, 9, 9, 9, 9, 9, 9, 9, 6, -1, -2, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, 9, 9]
    readings = [(at(10 * i), float(c)) for i, c in enumerate(temperatures)]
    batches = [readings[0:4], readings[4:9], readings[9:13], readings[13:18], readings[18:]]
    whole, _key = equipment_add(store=store, kind="refrigerator", label="Whole", by=store_keeper)
    readings_ingest(equipment=whole, readings=readings)
    expected = _spans(whole)
    assert [kind for kind, *_rest in expected] == ["heat", "freeze", "cold"]

    for number, order in enumerate(itertools.islice(itertools.permutations(batches), 0, None, 7)):
        equipment, _key = equipment_add(
            store=store, kind="refrigerator", label=f"Fridge {number}", by=store_keeper
        )
        for batch in order:
            readings_ingest(equipment=equipment, readings=batch)
        assert _spans(equipment) == expected, order


def test_it_withdraws_an_excursion_that_late_readings_disprove(fridge: Equipment) -> None:
    first = readings_ingest(equipment=fridge, readings=[(at(0), 9), (at(90), 9)])
    assert len(first.raised) == 1

    late = readings_ingest(equipment=fridge, readings=[(at(30), 5)])

    assert late.raised == [] and late.open == []
    assert not Excursion.objects.exists()
    assert AuditEvent.objects.filter(action="excursion.withdraw").count() == 1


def test_it_changes_nothing_when_a_batch_comes_again(fridge: Equipment) -> None:
    batch = [(at(m), 10.0) for m in range(0, 121, 10)] + [(at(130), 5.0)]
    readings_ingest(equipment=fridge, readings=batch)
    before = (_spans(fridge), list(Excursion.objects.values_list("pk", "alerted_at")))
    events = AuditEvent.objects.count()

    again = readings_ingest(equipment=fridge, readings=batch)

    assert (again.accepted, again.duplicates, again.raised) == (0, len(batch), [])
    assert (_spans(fridge), list(Excursion.objects.values_list("pk", "alerted_at"))) == before
    assert AuditEvent.objects.count() == events


def test_it_does_not_hold_freezers_to_the_fridge_range(store: Store, store_keeper: User) -> None:
    freezer, _key = equipment_add(store=store, kind="freezer", label="Freezer", by=store_keeper)

    result = readings_ingest(
        equipment=freezer, readings=[(at(m), -20.0) for m in range(0, 200, 10)]
    )

    assert (result.accepted, result.raised) == (20, [])
    assert not Excursion.objects.exists()


def test_it_raises_an_excursion_from_a_reading_taken_by_hand(
    fridge: Equipment, store_keeper: User
) -> None:
    reading_record(equipment=fridge, at=at(0), celsius=-3, by=store_keeper)

    assert _spans(fridge) == [("freeze", at(0), None, Decimal(-3), Decimal(-3))]
    assert AuditEvent.objects.get(action="excursion.raise").actor == store_keeper


# Batches flagged for a vial monitor check


def test_it_flags_the_batches_held_in_the_store(
    fridge: Equipment, store: Store, sea_hospital: Facility
) -> None:
    held, empty, elsewhere, checked = (_batch(lot) for lot in ("A1", "B2", "C3", "D4"))
    other = Store(name="Sea Port store", level="facility", region=sea_hospital.region)
    other.facility = sea_hospital
    other.save()
    Balance.objects.create(store=store, batch=held, doses=100, vials=10)
    Balance.objects.create(store=store, batch=empty, doses=0)
    Balance.objects.create(store=other, batch=elsewhere, doses=50, vials=5)

    readings_ingest(equipment=fridge, readings=[(at(0), 5), (at(10), 12)])
    assert not Batch.objects.filter(vvm_check_due=True).exists()

    readings_ingest(equipment=fridge, readings=[(at(80), 12)])

    assert set(Batch.objects.filter(vvm_check_due=True)) == {held}
    assert AuditEvent.objects.get(action="excursion.raise").data["batches"] == [held.public_id]

    # Stock received while the excursion goes on is exposed too.
    Balance.objects.create(store=store, batch=checked, doses=20, vials=2)
    readings_ingest(equipment=fridge, readings=[(at(90), 12)])
    assert set(Batch.objects.filter(vvm_check_due=True)) == {held, checked}


def test_it_records_who_acknowledged_an_excursion(fridge: Equipment, store_keeper: User) -> None:
    (excursion,) = readings_ingest(equipment=fridge, readings=[(at(0), -1)]).raised

    excursion_acknowledge(excursion=excursion, by=store_keeper)

    excursion.refresh_from_db()
    assert (excursion.acknowledged_at, excursion.acknowledged_by) == (NOW, store_keeper)
    with pytest.raises(DomainError) as refused:
        excursion_acknowledge(excursion=excursion, by=store_keeper)
    assert refused.value.code == "excursion_acknowledged"
