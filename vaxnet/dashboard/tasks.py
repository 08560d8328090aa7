"""Periodic dashboard work for Celery beat: the same as `vaxnet rollups fold`."""

from celery import shared_task

from vaxnet.dashboard.services import tallies_fold_all


@shared_task
def fold_tallies() -> int:
    """Fold the changes written since the last fold into the dashboard's tallies."""
    return tallies_fold_all()
