"""WSGI entry point (gunicorn vaxnet.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaxnet.settings")
application = get_wsgi_application()


def warm() -> None:
    """Load what every worker keeps for its life, then take it out of the garbage collector's way.

    The parsed fonts alone are over 100,000 objects; frozen, the cyclic collector stops
    scanning them on every full collection (about 6% of a certificate PDF's time).
    """
    from vaxnet.core.pdf import fonts_preload

    fonts_preload()
    gc.freeze()


warm()
