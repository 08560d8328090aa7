"""vaxnet rollups fold | rebuild: keep the public dashboard's tallies."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vaxnet.dashboard.services import tallies_fold_all, tallies_rebuild


class Command(BaseCommand):
    help = (
        "fold: add the changes written since the last fold to the dashboard's tallies "
        "(safe from cron or several machines at once; --every N keeps folding every N "
        "seconds). rebuild: count every tally again from the records."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        fold = commands.add_parser("fold", help="fold pending changes into the tallies")
        fold.add_argument(
            "--every",
            type=float,
            default=0,
            help="keep folding, every this many seconds (default: once)",
        )
        commands.add_parser("rebuild", help="count every tally again from the records")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild":
            started = time.monotonic()
            kinds = tallies_rebuild()
            took = time.monotonic() - started
            listed = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
            self.stdout.write(f"rebuilt in {took:.1f} s from {listed or 'no records'}")
            return
        every = options["every"]
        while True:
            folded = tallies_fold_all()
            if options["verbosity"] > 1 or not every:
                self.stdout.write(f"folded {folded} changes")
            if not every:
                return
            time.sleep(every)
