"""vaxnet keys generate | rotate FORMAT | list | export [FILE]: the certificate signing keys."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from vaxnet.certificates.formats.base import FORMATS
from vaxnet.certificates.keys import keystore
from vaxnet.certificates.queries import issuing_country
from vaxnet.certificates.trust import public_bundle
from vaxnet.core.errors import DomainError
from vaxnet.core.i18n import localized
from vaxnet.countries.queries import active_country


def _issuer() -> tuple[str, str]:
    """Return the country code and the issuer's English name that new keys are made for."""
    country = active_country()
    if country is None:
        raise CommandError("No country pack is loaded: run `vaxnet load-country CC` first.")
    with translation.override("en"):
        issuer = localized(country.setting("certificate", "issuer", {})) or country.name
    return issuing_country(country), issuer


class Command(BaseCommand):
    help = (
        "Manage the certificate signing keys: generate the missing ones, rotate a format's, "
        "list them, or export the public keys and revocation lists for offline verifiers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("generate", help="make a key for every format that has none")
        rotate = actions.add_parser("rotate", help="make a new key; the old one stays trusted")
        rotate.add_argument("format", choices=FORMATS)
        actions.add_parser("list", help="show every key (never a private one)")
        export = actions.add_parser("export", help="write the public key bundle as JSON")
        export.add_argument("file", nargs="?", help="where to write it (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "generate":
                self._generate()
            elif action == "rotate":
                self._rotate(options["format"])
            elif action == "list":
                self._list()
            else:
                self._export(options.get("file"))
        except DomainError as error:
            raise CommandError(str(error.message)) from None

    def _generate(self) -> None:
        country, issuer = _issuer()
        made = keystore().generate(country=country, issuer=issuer)
        if not made:
            self.stdout.write("Every format has an active key: nothing to do.")
        for info in made:
            self.stdout.write(self.style.SUCCESS(f"{info.purpose}: made key {info.kid}"))

    def _rotate(self, purpose: str) -> None:
        country, issuer = _issuer()
        store = keystore()
        old = store.active(purpose)
        info = store.rotate(purpose, country=country, issuer=issuer)
        if old is not None:
            self.stdout.write(f"{purpose}: retired {old.kid} (still trusted for verification)")
        self.stdout.write(self.style.SUCCESS(f"{purpose}: made key {info.kid}"))

    def _list(self) -> None:
        infos = keystore().infos()
        if not infos:
            self.stdout.write("No keys: run `vaxnet keys generate`.")
            return
        for info in infos:
            not_after = info.not_after.isoformat() if info.not_after else "-"
            self.stdout.write(
                "\t".join(
                    [info.purpose, info.kid, info.status, info.created_at.isoformat(), not_after]
                )
            )

    def _export(self, file: str | None) -> None:
        text = json.dumps(public_bundle(), indent=2, ensure_ascii=False) + "\n"
        if file is None:
            self.stdout.write(text, ending="")
            return
        Path(file).write_text(text, encoding="utf-8")
        self.stderr.write(f"Wrote the public key bundle to {file}.")
