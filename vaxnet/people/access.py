"""The one place that decides which beneficiary an account may see and act on.

Missing and not-yours answer alike (NotFound), so that probing reference numbers
teaches nothing.
"""

from django.db import connection

from vaxnet.core.errors import NotFound
from vaxnet.core.rows import columns, model_from_row
from vaxnet.people.models import REFERENCE_LENGTH, Account, Beneficiary


def beneficiary_for_account(account: Account, reference: str) -> Beneficiary:
    """Return the beneficiary with this reference if the account registered it, else NotFound."""
    reference = str(reference).strip()
    if not account.active:
        raise NotFound()
    if len(reference) != REFERENCE_LENGTH or not reference.isdigit():
        raise NotFound()
    # The reference is unique: no order to build (the default one joins the account).
    found = (
        Beneficiary.objects.filter(reference=reference, account=account)
        .select_related("id_type", "country")
        .order_by()
    )
    beneficiary = next(iter(found[:1]), None)
    if beneficiary is None:
        raise NotFound()
    # The caller's own account: keep it on the row, so that nothing queries it again.
    beneficiary.account = account
    return beneficiary


def beneficiaries_for_account(account: Account, references: list[str]) -> list[Beneficiary]:
    """Return the beneficiaries with these references, in order, if the account registered all.

    One query for them all, as beneficiary_for_account would answer each (NotFound for any
    missing or not the account's); only their own rows, for booking (no ID type or country).
    """
    wanted = [str(reference).strip() for reference in references]
    if not account.active:
        raise NotFound()
    if any(len(reference) != REFERENCE_LENGTH or not reference.isdigit() for reference in wanted):
        raise NotFound()
    # Written out rather than built by the ORM, which spent more CPU building this SELECT
    # than the database spent running it; the rows become models as the ORM's would.
    table = connection.ops.quote_name(Beneficiary._meta.db_table)
    sql = (
        f"SELECT {columns([(Beneficiary, 'b')])} FROM {table} b "  # noqa: S608
        f"WHERE b.account_id = %s AND b.reference IN ({', '.join(['%s'] * len(wanted))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [account.pk, *wanted])
        rows = cursor.fetchall()
    found = {}
    for row in rows:
        beneficiary = model_from_row(Beneficiary, row, "b")
        found[beneficiary.reference] = beneficiary
    if any(reference not in found for reference in wanted):
        raise NotFound()
    members = []
    for reference in wanted:
        beneficiary = found[reference]
        # The caller's own account: keep it on the row, so that nothing queries it again.
        beneficiary.account = account
        members.append(beneficiary)
    return members
