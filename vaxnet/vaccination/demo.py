"""The demo's facility day: a session today at the demo staff's centre, people booked for it.

A few are checked in and vaccinated already, one came as a walk-in; the others wait at the
front desk, and the demo command prints what a verifier needs to check them in (their
reference, ID number and security code). Everything goes through the services, with the
demo's seeded generator.
"""

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import phonenumbers
from django.db.models import QuerySet, Sum
from django.utils import timezone

from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.booking.services import appointment_book
from vaxnet.certificates.models import Certificate, CorrectionRequest
from vaxnet.core.checksums import luhn_valid, verhoeff_digit
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.countries.models import Country, IdDocumentType
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account, Beneficiary
from vaxnet.people.services import beneficiary_add, beneficiary_remove, phone_normalise
from vaxnet.stock.models import Balance, Batch, SessionStock
from vaxnet.stock.services import stock_issue
from vaxnet.stock.stores import store_for_facility
from vaxnet.vaccination.models import Aefi, NotGiven, Vaccination
from vaxnet.vaccination.services import (
    Person,
    appointment_check_in,
    vaccination_record,
    walk_in_register,
)

PEOPLE = 10
VACCINATED = 3
CHECKED_IN = 4
VIALS = 3
FIRST_NAMES = ["Asha", "Ravi", "Meena", "Arjun", "Lakshmi", "Imran", "Kavya", "Joseph", "Divya"]
LAST_NAMES = ["Kumar", "Devi", "Nair", "Khan", "Reddy", "Singh", "Das", "Iyer", "Thomas"]


@dataclass(frozen=True)
class Waiting:
    """A person booked for today whom a verifier can check in: what the desk asks for."""

    name: str
    reference: str
    id_type: str
    id_number: str
    security_code: str


@dataclass
class DaySummary:
    """What the demo's facility day holds: its session and the people at each step."""

    session: str = ""
    facility: str = ""
    vaccinated: int = 0
    checked_in: int = 0
    walk_ins: int = 0
    # The mobile number of someone vaccinated today: sign in with it to see a certificate.
    certificate_phone: str = ""
    waiting: list[Waiting] = field(default_factory=list)


def id_number_for(id_type: IdDocumentType, rng: random.Random) -> str:
    """Return a made-up number that passes the document's pattern and check digit."""
    for _attempt in range(200):
        body = _from_pattern(id_type.pattern, rng)
        if id_type.check_digit == IdDocumentType.Check.VERHOEFF and body:
            body = body[:-1] + verhoeff_digit(body[:-1])
        elif id_type.check_digit == IdDocumentType.Check.LUHN and body:
            body = next((body[:-1] + d for d in "0123456789" if luhn_valid(body[:-1] + d)), body)
        try:
            return id_type.validate(body)
        except DomainError:
            continue
    raise DomainError("demo_id", f"No demo number fits {id_type.code}'s pattern.")


def _from_pattern(pattern: str, rng: random.Random) -> str:
    """Return a string for the simple patterns packs use: classes, counts, alternatives."""
    text = pattern.strip("^$")
    out = []
    parts = r"\(([^)]*)\)|\[([^\]]*)\](?:\{(\d+)\})?|(\\d)(?:\{(\d+)\})?|(.)"
    for match in re.finditer(parts, text):
        alternatives, chars, count, digit, digit_count, literal = match.groups()
        if alternatives is not None:
            out.append(rng.choice(alternatives.split("|")))
        elif chars is not None or digit is not None:
            pool = _class(chars) if chars is not None else "0123456789"
            for _ in range(int(count or digit_count or 1)):
                out.append(rng.choice(pool))
        else:
            out.append(literal)
    return "".join(out)


def _class(spec: str) -> str:
    chars: list[str] = []
    for start, end in re.findall(r"(.)-(.)", spec):
        chars.extend(chr(c) for c in range(ord(start), ord(end) + 1))
    return "".join(chars) or spec


def _phone(country: Country, rng: random.Random) -> str:
    example = phonenumbers.example_number_for_type(
        country.phone_region, phonenumbers.PhoneNumberType.MOBILE
    )
    if example is None:
        raise DomainError("demo_phone", "The country's numbering plan has no mobile example.")
    national = str(example.national_number)
    for _attempt in range(50):
        digits = national[:-4] + f"{rng.randrange(10_000):04d}"
        try:
            return phone_normalise(country=country, raw=f"+{example.country_code}{digits}")
        except DomainError:
            continue
    raise DomainError("demo_phone", "No demo mobile number fits the country.")


class DayDemo:
    """Builds today's session at a centre and walks part of its queue through the day."""

    def __init__(
        self,
        *,
        country: Country,
        facility: Facility,
        rng: random.Random,
        now: datetime,
        verifier: User,
        vaccinator: User,
    ) -> None:
        self.country = country
        self.facility = facility
        self.rng = rng
        self.now = now
        self.verifier = verifier
        self.vaccinator = vaccinator

    def build(self) -> DaySummary:
        """Make the day; return what it holds (empty when the centre has no usable stock)."""
        batch = self._batch()
        if batch is None:
            return DaySummary()
        session = self._session(batch)
        stock_issue(
            by=self.vaccinator,
            store=store_for_facility(facility=self.facility, by=None),
            batch=batch,
            session=session,
            vials=VIALS,
            now=self.now,
        )
        summary = DaySummary(session=session.public_id, facility=self.facility.name)
        id_type = IdDocumentType.objects.filter(country=self.country).order_by("position").first()
        if id_type is None:  # a pack without ID documents registers nobody
            return summary
        people = [self._person(id_type, index) for index in range(PEOPLE)]
        for index, (beneficiary, number) in enumerate(people):
            appointment = self._book(beneficiary, session)
            if appointment is None:
                # Not for this session (its doses or ages): not part of the demo's day.
                if beneficiary.account is not None:
                    beneficiary_remove(account=beneficiary.account, beneficiary=beneficiary)
                continue
            if index < CHECKED_IN:
                appointment_check_in(
                    by=self.verifier,
                    appointment=appointment,
                    id_number=number,
                    security_code=appointment.security_code,
                    now=self.now,
                )
                summary.checked_in += 1
                if index < VACCINATED:
                    vaccination_record(
                        by=self.vaccinator,
                        appointment=appointment,
                        batch=batch,
                        site="left_arm",
                        now=self.now,
                    )
                    summary.vaccinated += 1
                    summary.checked_in -= 1
                    if beneficiary.account is not None and not summary.certificate_phone:
                        summary.certificate_phone = beneficiary.account.phone
            else:
                summary.waiting.append(
                    Waiting(
                        name=beneficiary.name,
                        reference=beneficiary.reference,
                        id_type=id_type.name,
                        id_number=number,
                        security_code=appointment.security_code,
                    )
                )
        summary.walk_ins += self._walk_in(session, id_type)
        return summary

    def _batch(self) -> Batch | None:
        """Return the centre's batch with the most doses that may be used today."""
        store = store_for_facility(facility=self.facility, by=None)
        today = timezone.localdate(self.now)
        held = (
            Balance.objects.filter(store=store, doses__gt=0)
            .filter(batch__expires_on__gte=today, batch__recalled_at__isnull=True)
            .values("batch")
            .annotate(doses=Sum("doses"))
            .order_by("-doses")
            .first()
        )
        if held is None:
            return None
        batch = Batch.objects.select_related("vaccine").get(pk=held["batch"])
        if held["doses"] < VIALS * batch.doses_per_vial:
            return None
        return batch

    def _session(self, batch: Batch) -> Session:
        """Return today's session of the batch's vaccine at the centre, planned if missing."""
        today = timezone.localdate(self.now)
        session = Session.objects.filter(
            facility=self.facility, date=today, vaccine=batch.vaccine, status="planned"
        ).first()
        if session is not None:
            return session
        numbers = [dose.number for dose in batch.vaccine.doses.all()][:2] or [1]
        return session_create(
            by=None,
            facility=self.facility,
            on=today,
            vaccine=batch.vaccine,
            capacity={number: (30, 15) for number in numbers},
            slots=[SlotSpec(time(9), time(13), 40), SlotSpec(time(14), time(17), 20)],
            release_at=self.now - timedelta(days=3),
            min_age_years=18,
        )

    def _person(self, id_type: IdDocumentType, index: int) -> tuple[Beneficiary, str]:
        account, _made = Account.objects.get_or_create(
            country=self.country,
            phone=_phone(self.country, self.rng),
            defaults={"language": self.country.languages[0]},
        )
        number = id_number_for(id_type, self.rng)
        name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {self.rng.choice(LAST_NAMES)}"
        beneficiary = beneficiary_add(
            account=account,
            name=name,
            sex=self.rng.choice(["female", "male"]),
            birth_year=timezone.localdate(self.now).year - self.rng.randrange(20, 70),
            id_type_code=id_type.code,
            id_number=number,
        )
        return beneficiary, number

    def _book(self, beneficiary: Beneficiary, session: Session) -> Appointment | None:
        """Book the person into the session as of yesterday (booking for today may be shut)."""
        slot = session.slots.order_by("starts_at").first()
        if slot is None:
            return None
        try:
            (appointment,) = appointment_book(
                beneficiaries=[beneficiary],
                session=session,
                slot=slot,
                now=self.now - timedelta(days=1),
            )
        except DomainError:
            return None  # not eligible for this session's vaccine or dose: not in the demo day
        return appointment

    def _walk_in(self, session: Session, id_type: IdDocumentType) -> int:
        try:
            walk_in_register(
                by=self.verifier,
                session=session,
                person=Person(
                    name=f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}",
                    sex="female",
                    birth_year=timezone.localdate(self.now).year - 45,
                    id_type_code=id_type.code,
                    id_number=id_number_for(id_type, self.rng),
                ),
                now=self.now,
            )
        except DomainError:
            return 0
        return 1


def day_demo_remove(*, centres: QuerySet[Facility]) -> None:
    """Remove the demo's facility days: records, appointments, and the people booked only there.

    Development databases only (the demo command refuses to run elsewhere): records are
    otherwise never deleted.
    """
    sessions = Session.objects.filter(facility__in=centres)
    Aefi.objects.filter(facility__in=centres).delete()
    vaccinated = Vaccination.objects.filter(session__in=sessions).values("beneficiary_id")
    # Their certificates list the doses removed here (their kept PDFs go with them).
    CorrectionRequest.objects.filter(beneficiary_id__in=vaccinated).delete()
    Certificate.objects.filter(beneficiary_id__in=vaccinated).delete()
    Vaccination.objects.filter(session__in=sessions).update(replaces=None)
    Vaccination.objects.filter(session__in=sessions).delete()
    NotGiven.objects.filter(session__in=sessions).delete()
    SessionStock.objects.filter(session__in=sessions).delete()
    people = set(
        Appointment.objects.filter(session__in=sessions).values_list("beneficiary_id", flat=True)
    )
    Appointment.objects.filter(session__in=sessions).delete()
    alone = Beneficiary.objects.filter(pk__in=people, appointments__isnull=True).filter(
        vaccinations__isnull=True
    )
    accounts = set(alone.values_list("account_id", flat=True))
    alone.delete()
    Account.objects.filter(pk__in=accounts, beneficiaries__isnull=True).delete()
