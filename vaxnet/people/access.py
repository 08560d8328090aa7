"""The one place that decides which beneficiary an account may see and act on.

Missing and not-yours answer alike (NotFound), so that probing reference numbers
teaches nothing.
"""

from vaxnet.core.errors import NotFound
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
    found = {
        beneficiary.reference: beneficiary
        for beneficiary in Beneficiary.objects.filter(
            account=account, reference__in=wanted
        ).order_by()
    }
    if any(reference not in found for reference in wanted):
        raise NotFound()
    members = []
    for reference in wanted:
        beneficiary = found[reference]
        # The caller's own account: keep it on the row, so that nothing queries it again.
        beneficiary.account = account
        members.append(beneficiary)
    return members
