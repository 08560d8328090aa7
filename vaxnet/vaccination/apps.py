from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaccinationConfig(AppConfig):
    name = "vaxnet.vaccination"
    label = "vaccination"
    verbose_name = _("Vaccination")
