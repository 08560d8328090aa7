"""vaxnet set_up_stores: make the supply chain's stores for the deployment's country."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vaxnet.countries.models import Country
from vaxnet.stock.stores import stores_set_up


class Command(BaseCommand):
    help = (
        "Make a store for the country, each state and district, and each active centre, "
        "each supplied by the store of the region above it. Only missing stores are made: "
        "run it again after adding centres."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        country = Country.objects.filter(code=settings.VAXNET_COUNTRY).first()
        if country is None:
            raise CommandError(
                f"The country {settings.VAXNET_COUNTRY} is not loaded: run load-country first."
            )
        made = stores_set_up(country=country, by=None)
        self.stdout.write(self.style.SUCCESS(f"{made} stores made."))
