"""vaxnet check_stock: compare every kept balance with the sum of its ledger's moves."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vaxnet.stock.models import Batch, Store
from vaxnet.stock.queries import balance_mismatches


class Command(BaseCommand):
    help = (
        "Compare each store's kept balance of each batch with the sum of its moves; list "
        "those that differ and exit with an error if any does. Reads only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", help="check only the store with this public id")

    def handle(self, *args: Any, **options: Any) -> None:
        store = None
        if options["store"]:
            store = Store.objects.filter(public_id=options["store"]).first()
            if store is None:
                raise CommandError(f"No store {options['store']}.")
        mismatches = balance_mismatches(store)
        stores = Store.objects.in_bulk({m.store_id for m in mismatches})
        batches = Batch.objects.select_related("vaccine").in_bulk({m.batch_id for m in mismatches})
        for m in mismatches:
            self.stderr.write(
                f"{stores[m.store_id].public_id} {stores[m.store_id].name} · "
                f"{batches[m.batch_id]}: kept {m.kept_doses} doses / {m.kept_vials} vials, "
                f"ledger {m.ledger_doses} doses / {m.ledger_vials} vials"
            )
        if mismatches:
            raise CommandError(f"{len(mismatches)} balances disagree with the ledger.")
        self.stdout.write(self.style.SUCCESS("Every balance agrees with the ledger."))
