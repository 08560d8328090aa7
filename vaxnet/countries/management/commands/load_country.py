"""vaxnet load-country CC: load or update a country pack."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vaxnet.countries.pack import PackInvalid, read_pack
from vaxnet.countries.services import country_load


class Command(BaseCommand):
    help = "Load or update a country pack (idempotent; a broken pack changes nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="the pack's country code, e.g. IN, KE, TEST")
        parser.add_argument("--force", action="store_true", help="reload an unchanged pack")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"].upper()
        try:
            pack = read_pack(code)
        except PackInvalid as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"The {code} pack was refused ({len(exc.errors)} problems); nothing was loaded."
            ) from None
        result = country_load(pack=pack, force=options["force"])
        if not result.changed:
            self.stdout.write(f"{code}: already up to date.")
            return
        summary = ", ".join(
            f"{count} {what.replace('_', ' ')}" for what, count in result.counts.items()
        )
        self.stdout.write(self.style.SUCCESS(f"{code}: loaded {summary}."))
