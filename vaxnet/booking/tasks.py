"""Periodic booking work for Celery beat: the same as the cron commands."""

from celery import shared_task
from django.core.management import call_command


@shared_task
def run_draws() -> None:
    """Make every fair draw whose window has closed (see `vaxnet run_draws`)."""
    call_command("run_draws")


@shared_task
def run_waitlist() -> None:
    """Lapse expired waiting-list offers and offer free places (see `vaxnet run_waitlist`)."""
    call_command("run_waitlist")


@shared_task
def send_reminders() -> None:
    """Queue the day-before reminders not queued yet (see `vaxnet send_reminders`)."""
    call_command("send_reminders")
