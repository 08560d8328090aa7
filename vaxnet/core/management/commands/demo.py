"""vaxnet demo: a realistic, deterministic demo on a loaded country pack."""

import math
import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from vaxnet.booking.models import Session
from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.core.ids import ALPHABET
from vaxnet.core.models import AuditEvent, User
from vaxnet.countries.models import Country
from vaxnet.dashboard.demo import dose_history, dose_history_remove
from vaxnet.dashboard.services import tallies_rebuild
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.facilities.services import facility_create, facility_set_fee, staff_membership_grant
from vaxnet.geo.models import PostalCode, Region
from vaxnet.stock.demo import StockDemo, StockSummary, stock_demo_remove
from vaxnet.vaccination.demo import DayDemo, DaySummary, day_demo_remove
from vaxnet.vaccines.models import Vaccine

DEMO_PREFIX = "DEMO-"
DEMO_PASSWORD = "vaxnet-demo"  # noqa: S105 - printed for the demo; refused outside dev mode

# Facility types: (kind, share, name per language). The place name follows the type.
FACILITY_TYPES = [
    (
        "public",
        40,
        {
            "en": "Primary Health Centre",
            "hi": "प्राथमिक स्वास्थ्य केंद्र",
            "ta": "ஆரம்ப சுகாதார நிலையம்",
            "sw": "Kituo cha Afya",
        },
    ),
    (
        "public",
        15,
        {
            "en": "Urban Health Centre",
            "hi": "शहरी स्वास्थ्य केंद्र",
            "ta": "நகர்ப்புற சுகாதார நிலையம்",
            "sw": "Kituo cha Afya cha Mjini",
        },
    ),
    (
        "public",
        12,
        {
            "en": "Community Health Centre",
            "hi": "सामुदायिक स्वास्थ्य केंद्र",
            "ta": "சமுதாய சுகாதார நிலையம்",
            "sw": "Kituo cha Afya cha Jamii",
        },
    ),
    (
        "public",
        8,
        {
            "en": "Government Hospital",
            "hi": "सरकारी अस्पताल",
            "ta": "அரசு மருத்துவமனை",
            "sw": "Hospitali ya Serikali",
        },
    ),
    (
        "private",
        10,
        {
            "en": "CarePlus Hospital",
            "hi": "केयरप्लस अस्पताल",
            "ta": "கேர்பிளஸ் மருத்துவமனை",
            "sw": "Hospitali ya CarePlus",
        },
    ),
    (
        "private",
        8,
        {
            "en": "Sunrise Clinic",
            "hi": "सनराइज़ क्लिनिक",
            "ta": "சன்ரைஸ் மருத்துவமனை",
            "sw": "Kliniki ya Sunrise",
        },
    ),
    (
        "private",
        7,
        {
            "en": "Lifeline Medical Centre",
            "hi": "लाइफ़लाइन मेडिकल सेंटर",
            "ta": "லைஃப்லைன் மருத்துவ மையம்",
            "sw": "Kituo cha Matibabu Lifeline",
        },
    ),
]
# Private fees per dose (India's 2021 private-hospital price caps, in rupees; else a flat range).
PRIVATE_FEES = {"COVISHIELD": Decimal(780), "COVAXIN": Decimal(1410), "CORBEVAX": Decimal(990)}
STREETS = ["Main Road", "Station Road", "Hospital Road", "Market Street", "Temple Street"]
SLOT_PATTERNS = [
    [(time(9), time(11)), (time(11), time(13)), (time(14), time(16))],
    [(time(9), time(13))],
    [(time(10), time(12)), (time(12), time(14))],
]
# Demo centres lie within this distance of their district's headquarters (uniform over the disc).
SPREAD_KM = 6.0
KM_PER_DEGREE = 111.32  # of latitude, and of longitude at the equator
STAFF = [
    ("verifier", Role.VERIFIER, "facility"),
    ("vaccinator", Role.VACCINATOR, "facility"),
    ("manager", Role.FACILITY_MANAGER, "facility"),
    ("storekeeper", Role.STORE_KEEPER, "facility"),
    ("district", Role.DISTRICT_ADMIN, "district"),
    ("state", Role.STATE_ADMIN, "state"),
    ("national", Role.NATIONAL_ADMIN, "country"),
]


class Command(BaseCommand):
    help = "Build a realistic demo (facilities, sessions, staff logins) on a loaded country pack."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--country", default=settings.VAXNET_COUNTRY)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--facilities", type=int, default=500)
        parser.add_argument("--days", type=int, default=7, help="days of sessions from today")
        parser.add_argument(
            "--people",
            type=int,
            default=None,
            help="people with a vaccination history of the last 90 days, for the dashboard "
            "(default: 40 a facility)",
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing if a demo exists")
        parser.add_argument("--reset", action="store_true", help="remove the existing demo first")
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="run without VAXNET_DEV (never on live data)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.VAXNET_DEV and not options["allow_production"]:
            raise CommandError("The demo creates known passwords: run it with VAXNET_DEV=1.")
        if options["facilities"] < 1 or options["days"] < 0:
            raise CommandError("--facilities must be at least 1 and --days at least 0.")
        country = Country.objects.filter(code=options["country"].upper()).first()
        if country is None:
            raise CommandError(f"Load the pack first: vaxnet load-country {options['country']}")
        existing = Facility.objects.filter(country=country, code__startswith=DEMO_PREFIX)
        if existing.exists():
            if options["if_empty"]:
                self.stdout.write("A demo is already loaded.")
                self._print_logins(country)
                return
            if not options["reset"]:
                raise CommandError("A demo is already loaded; use --reset to rebuild it.")
        with transaction.atomic():
            if options["reset"]:
                self._reset(country)
            builder = DemoBuilder(country, random.Random(options["seed"]), self.stdout)
            facilities = builder.facilities(options["facilities"])
            builder.staff(facilities[0])
            count = builder.sessions(facilities, options["days"])
            stock = builder.stock(facilities)
            day = builder.day(facilities[0])
            people = options["people"]
            history = dose_history(
                country=country,
                centres=facilities,
                vaccinator=User.objects.get(username="demo-vaccinator"),
                rng=builder.rng,
                people=max(0, 40 * len(facilities) if people is None else people),
            )
        # The dashboard counts the demo as it counts any records loaded in bulk: rebuilt.
        tallies_rebuild()
        self.stdout.write(
            self.style.SUCCESS(f"Demo ready: {len(facilities)} facilities, {count} sessions.")
        )
        self.stdout.write(
            _(
                "Stock: {batches} batches in {stores} stores, {transfers} transfers, "
                "{moves} moves, {requisitions} requisitions, {equipment} pieces of equipment."
            ).format(**vars(stock))
        )
        self.stdout.write(
            _("Dashboard: {people} people with {doses} doses in {sessions} past sessions.").format(
                **vars(history)
            )
        )
        self._print_day(day)
        self._print_logins(country)

    def _print_day(self, day: DaySummary) -> None:
        if not day.session:
            return
        self.stdout.write(
            _(
                "Today at {facility}: {vaccinated} vaccinated, {checked_in} checked in, "
                "{walk_ins} walk-in, {waiting} waiting at the desk:"
            ).format(
                facility=day.facility,
                vaccinated=day.vaccinated,
                checked_in=day.checked_in,
                walk_ins=day.walk_ins,
                waiting=len(day.waiting),
            )
        )
        for person in day.waiting:
            self.stdout.write(
                f"  {person.name:<20} {person.reference}  {person.id_type}: {person.id_number}"
                f"  code {person.security_code}"
            )
        if day.certificate_phone:
            self.stdout.write(
                _(
                    "Certificates: sign in at /account/ with {phone} (the code is printed "
                    "here), then open Vaccination certificates; check one at /verify/."
                ).format(phone=day.certificate_phone)
            )

    def _reset(self, country: Country) -> None:
        demo = Facility.objects.filter(country=country, code__startswith=DEMO_PREFIX)
        # Stock first: its moves, transfers and stores hold on to sessions, users and centres.
        day_demo_remove(centres=demo)
        stock_demo_remove(country=country, centres=demo)
        dose_history_remove(country=country, centres=demo)
        Session.objects.filter(facility__in=demo).delete()
        StaffMembership.objects.filter(user__username__startswith="demo-").delete()
        # Demo accounts only exist in development databases; their audit trail goes with them.
        AuditEvent.objects.filter(actor__username__startswith="demo-").delete()
        User.objects.filter(username__startswith="demo-").delete()
        demo.delete()

    def _print_logins(self, country: Country) -> None:
        first = (
            Facility.objects.filter(country=country, code__startswith=DEMO_PREFIX)
            .order_by("code")
            .first()
        )
        self.stdout.write("")
        self.stdout.write(
            "Demo logins (staff sign in at /staff/sign-in/, admins also at /admin/), "
            "password for all: " + DEMO_PASSWORD
        )
        self.stdout.write(f"  {'demo-admin':<22} superuser (Django admin)")
        for username, role, _scope in STAFF:
            membership = (
                StaffMembership.objects.filter(user__username=f"demo-{username}")
                .select_related("facility", "region")
                .first()
            )
            where = ""
            if membership is not None:
                where = str(membership.facility.name if membership.facility else membership.region)
            self.stdout.write(f"  demo-{username:<17} {Role(role).label}: {where}")
        if first is not None:
            self.stdout.write(f"  First demo centre: /centres/{first.public_id}/")
        self.stdout.write("")


class DemoBuilder:
    """Builds the demo with one seeded random generator, so a seed always gives the same demo."""

    def __init__(self, country: Country, rng: random.Random, out: Any) -> None:
        self.country = country
        self.rng = rng
        self.out = out
        # Centres go into the lowest regions the pack lists: districts, or a state without any.
        self.districts = list(
            Region.objects.filter(country=country, depth__gte=1, children__isnull=True)
            .select_related("parent")
            .order_by("code")
        )
        self.locations = self._locations(country)
        self.places: dict[int, list[PostalCode]] = {}
        postal_codes = PostalCode.objects.filter(country=country).select_related("region")
        for postal in postal_codes.order_by("code"):
            self.places.setdefault(postal.region_id, []).append(postal)
            # Postal codes mapped to a sub-district count for its district too.
            parent_id = postal.region.parent_id if postal.region.depth > 2 else None
            if parent_id is not None:
                self.places.setdefault(parent_id, []).append(postal)
        self.vaccines = list(
            Vaccine.objects.filter(country=country, active=True).prefetch_related("doses")
        )
        if not self.vaccines or not self.districts:
            raise CommandError("The pack has no vaccines or no regions to build a demo on.")

    @staticmethod
    def _locations(country: Country) -> dict[int, tuple[Decimal, Decimal]]:
        """Map each region to its own coordinates, else its nearest ancestor's; skip the rest."""
        found: dict[int, tuple[Decimal, Decimal]] = {}
        # Parents first, so that a child without coordinates can take its parent's.
        for region in Region.objects.filter(country=country).order_by("depth"):
            location = region.location()
            if location is None and region.parent_id in found:
                location = found[region.parent_id]
            if location is not None:
                found[region.pk] = location
        return found

    def near(self, region: Region) -> tuple[Decimal | None, Decimal | None]:
        """Return a point a few km from the region's headquarters, or (None, None) without one."""
        centre = self.locations.get(region.pk)
        # Draw the offset even without a centre, so every centre takes the same draws.
        distance = SPREAD_KM * math.sqrt(self.rng.random())
        bearing = 2 * math.pi * self.rng.random()
        if centre is None:
            return None, None
        lat, lng = float(centre[0]), float(centre[1])
        lat2 = lat + distance * math.cos(bearing) / KM_PER_DEGREE
        cos_lat = max(math.cos(math.radians(lat)), 0.01)
        lng2 = lng + distance * math.sin(bearing) / (KM_PER_DEGREE * cos_lat)
        lat2 = min(max(lat2, -90.0), 90.0)
        lng2 = (lng2 + 180.0) % 360.0 - 180.0
        return Decimal(f"{lat2:.6f}"), Decimal(f"{lng2:.6f}")

    def public_id(self, length: int) -> str:
        return "".join(self.rng.choice(ALPHABET) for _ in range(length))

    def facilities(self, count: int) -> list[Facility]:
        weights = [t[1] for t in FACILITY_TYPES]
        created = []
        for number in tqdm(
            range(1, count + 1), desc="Facilities", file=self.out, disable=count < 200
        ):
            # Spread evenly over districts first, then at random, so every district has centres.
            district = (
                self.districts[(number - 1) % len(self.districts)]
                if number <= len(self.districts)
                else self.rng.choice(self.districts)
            )
            kind, _share, type_names = self.rng.choices(FACILITY_TYPES, weights)[0]
            postal = (
                self.rng.choice(self.places[district.pk]) if self.places.get(district.pk) else None
            )
            place = (
                postal.place if postal and postal.place else district.names.get("en", district.code)
            )
            names = {
                lang: f"{type_names.get(lang, type_names['en'])}, {place}"
                for lang in self.country.languages
            }
            latitude, longitude = self.near(district)
            opens, closes = (time(9), time(17)) if kind == "public" else (time(8), time(20))
            facility = facility_create(
                by=None,
                code=f"{DEMO_PREFIX}{number:05d}",
                names=names,
                kind=kind,
                region=district,
                postal_code=postal.code if postal else "",
                address=f"{self.rng.randint(1, 250)} {self.rng.choice(STREETS)}",
                latitude=latitude,
                longitude=longitude,
                opens_at=opens,
                closes_at=closes,
                public_id=self.public_id(10),
            )
            if kind == "private":
                for vaccine in self.vaccines:
                    if vaccine.kind == Vaccine.Kind.CAMPAIGN:
                        amount = PRIVATE_FEES.get(
                            vaccine.code, Decimal(self.rng.randrange(500, 2500, 50))
                        )
                        facility_set_fee(by=None, facility=facility, vaccine=vaccine, amount=amount)
            created.append(facility)
        return created

    def staff(self, facility: Facility) -> None:
        admin = User.objects.create_superuser("demo-admin", password=DEMO_PASSWORD)
        admin.save()
        district = facility.region
        state = district.parent if district.parent and district.parent.depth >= 1 else district
        country_root = Region.objects.get(code=self.country.code)
        for username, role, scope in STAFF:
            user = User.objects.create_user(
                f"demo-{username}", password=DEMO_PASSWORD, is_staff=True
            )
            region = {"district": district, "state": state, "country": country_root}.get(scope)
            staff_membership_grant(
                by=admin,
                user=user,
                role=role,
                facility=facility if scope == "facility" else None,
                region=region,
            )

    def stock(self, facilities: list[Facility]) -> StockSummary:
        """Stock the first centres, with weeks of history; the store keeper's centre first."""
        users = User.objects.in_bulk(
            ["demo-storekeeper", "demo-district", "demo-admin"], field_name="username"
        )
        return StockDemo(
            country=self.country,
            centres=facilities,
            vaccines=self.vaccines,
            rng=self.rng,
            now=timezone.now(),
            keeper=users["demo-storekeeper"],
            district_admin=users["demo-district"],
            admin=users["demo-admin"],
        ).build()

    def day(self, facility: Facility) -> DaySummary:
        """Run part of today's session at the demo staff's centre through the facility day."""
        users = User.objects.in_bulk(["demo-verifier", "demo-vaccinator"], field_name="username")
        return DayDemo(
            country=self.country,
            facility=facility,
            rng=self.rng,
            now=timezone.now(),
            verifier=users["demo-verifier"],
            vaccinator=users["demo-vaccinator"],
        ).build()

    def sessions(self, facilities: list[Facility], days: int) -> int:
        today = timezone.localdate()
        count = 0
        campaign = [v for v in self.vaccines if v.kind == Vaccine.Kind.CAMPAIGN]
        routine = [v for v in self.vaccines if v.kind == Vaccine.Kind.ROUTINE]
        for facility in tqdm(
            facilities, desc="Sessions", file=self.out, disable=len(facilities) < 200
        ):
            for offset in range(days):
                day = today + timedelta(days=offset)
                if day.weekday() == 6 and facility.kind == "public":
                    continue  # government centres rest on Sundays
                choices = (
                    campaign if campaign and (not routine or self.rng.random() < 0.7) else routine
                )
                for vaccine in self.rng.sample(
                    choices, k=min(len(choices), self.rng.choice([1, 1, 2]))
                ):
                    count += self._session(facility, vaccine, day)
        return count

    def _session(self, facility: Facility, vaccine: Vaccine, day: Any) -> int:
        doses = [d.number for d in vaccine.doses.all()]
        dose_numbers = self.rng.choice([doses[:2], doses[-1:], doses]) if len(doses) > 1 else doses
        pattern = self.rng.choice(SLOT_PATTERNS)
        per_slot = self.rng.choice([20, 30, 50, 60])
        # Slots carry the online places; on site takes about a third more, for walk-ins.
        online_total = per_slot * len(pattern)
        onsite_total = round(online_total * 0.4)
        capacity = {
            number: (
                online_total // len(dose_numbers)
                + (online_total % len(dose_numbers) if i == 0 else 0),
                onsite_total // len(dose_numbers)
                + (onsite_total % len(dose_numbers) if i == 0 else 0),
            )
            for i, number in enumerate(dose_numbers)
        }
        # The session's age floor is the highest the vaccine or any of its doses asks for.
        ages = [vaccine.min_age] + [
            d.min_age for d in vaccine.doses.all() if d.number in dose_numbers
        ]
        min_age = max((int(a[:-1]) for a in ages if a.endswith("y")), default=0)
        release = datetime.combine(
            day - timedelta(days=2), time(17), tzinfo=timezone.get_current_timezone()
        )
        session_create(
            by=None,
            facility=facility,
            on=day,
            vaccine=vaccine,
            capacity=capacity,
            slots=[SlotSpec(start, end, per_slot) for start, end in pattern],
            release_at=release,
            min_age_years=min_age,
            public_id=self.public_id(12),
        )
        return 1
