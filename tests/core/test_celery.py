"""The beat schedule names tasks that exist, and each runs its command."""

import pytest
from django.conf import settings

from vaxnet.celery import app


def test_it_schedules_only_registered_tasks() -> None:
    app.loader.import_default_modules()

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "task",
    [
        "vaxnet.booking.tasks.run_draws",
        "vaxnet.booking.tasks.run_waitlist",
        "vaxnet.booking.tasks.send_reminders",
        "vaxnet.notifications.tasks.send_pending",
    ],
)
def test_it_runs_each_periodic_task_in_process(task: str) -> None:
    app.loader.import_default_modules()

    result = app.tasks[task].apply()

    assert result.successful(), result.traceback
