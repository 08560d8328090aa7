"""Reads for booking: a beneficiary's dose history and what they may book."""

from vaxnet.vaccines.eligibility import PastDose


def dose_history(beneficiary: object) -> list[PastDose]:
    """Return the valid doses a beneficiary has received, oldest first.

    Dose records arrive with the vaccination app; until then nobody has any, and
    this is the one place that will read them.
    """
    return []
