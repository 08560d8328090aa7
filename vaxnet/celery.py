"""The Celery application: workers run `celery -A vaxnet worker`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaxnet.settings")

app = Celery("vaxnet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
