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
    beneficiary = (
        Beneficiary.objects.filter(reference=reference)
        .filter(account=account)
        .select_related("id_type", "country")
        .first()
    )
    if beneficiary is None:
        raise NotFound()
    # The caller's own account: keep it on the row, so that nothing queries it again.
    beneficiary.account = account
    return beneficiary
