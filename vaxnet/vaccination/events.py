"""What follows a dose recorded or corrected, inside the same transaction.

The public dashboard's counters and the person's certificate are kept from these events;
each of those apps adds its call here, so that a dose and everything derived from it
commit together.
"""

from vaxnet.vaccination.models import Vaccination


def dose_recorded(vaccination: Vaccination) -> None:
    """Bring what derives from the person's doses up to date after a dose was recorded."""


def dose_entered_in_error(vaccination: Vaccination) -> None:
    """Bring what derives from the person's doses up to date after a record was withdrawn."""


def beneficiaries_merged(kept_id: int, merged_id: int) -> None:
    """Bring what derives from two people's doses up to date after a merge or its undoing."""
