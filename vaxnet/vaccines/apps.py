from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaccinesConfig(AppConfig):
    name = "vaxnet.vaccines"
    label = "vaccines"
    verbose_name = _("Vaccines")
