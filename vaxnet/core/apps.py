from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "vaxnet.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from vaxnet.core.middleware import stamp_staff_session

        # Every sign-in (the staff pages, the admin, a test's force_login) starts the session's
        # expiry clocks as Django saves the new session, rather than in a write of its own on
        # the session's first request.
        user_logged_in.connect(stamp_staff_session, dispatch_uid="vaxnet.core.stamp_staff_session")
