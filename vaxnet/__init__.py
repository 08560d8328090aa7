"""vaxnet: an open-source national vaccination platform."""

from vaxnet.celery import app as celery_app

__all__ = ["celery_app"]
