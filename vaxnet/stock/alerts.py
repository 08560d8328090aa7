"""Stock alerts for the staff responsible: low stock, stock-outs, batches near expiry, excursions.

A store's alerts go to its keepers and to the administrators whose region covers it (the
stores `stores_in_scope` gives for the stock roles). They are read each time, from the
same sums as the reports: nothing is stored, so an alert ends when its cause does.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from vaxnet.core.models import User
from vaxnet.stock import reports
from vaxnet.stock.models import Batch, Excursion, Store
from vaxnet.stock.queries import stores_in_scope
from vaxnet.vaccines.models import Vaccine


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Act now")
    WARNING = "warning", _("Act soon")


class AlertKind(models.TextChoices):
    LOW_STOCK = "low_stock", _("Low stock")
    STOCK_OUT = "stock_out", _("Stock-out")
    NEAR_EXPIRY = "near_expiry", _("Near expiry")
    EXPIRED = "expired", _("Expired stock")
    EXCURSION = "excursion", _("Temperature excursion")


@dataclass(frozen=True)
class Alert:
    """One thing a store's staff should act on."""

    kind: str
    severity: str
    store: Store
    message: str
    vaccine: Vaccine | None = None
    batch: Batch | None = None
    excursion: Excursion | None = None

    def get_kind_display(self) -> str:
        """Return the kind's label in the active language."""
        return str(AlertKind(self.kind).label)

    def get_severity_display(self) -> str:
        """Return the severity's label in the active language."""
        return str(Severity(self.severity).label)


def stores_for(user: User | AnonymousUser) -> QuerySet[Store] | None:
    """Return the stores whose stock the user answers for (None: none at all)."""
    scope = stores_in_scope(user, reports.STOCK_ROLES)
    return None if scope is None else Store.objects.filter(scope)


def alerts_for(user: User | AnonymousUser, today: date) -> list[Alert]:
    """Return the alerts of every store the user answers for, the most urgent first."""
    stores = stores_for(user)
    if stores is None:
        return []
    return alerts_in(stores, today)


def alerts_in(stores: QuerySet[Store], today: date) -> list[Alert]:
    """Return the alerts of the stores, the most urgent first, then by store."""
    found = [
        *_low_stock(stores, today),
        *_stock_outs(stores, today),
        *_expiry(stores, today),
        *_excursions(stores),
    ]
    order = {Severity.CRITICAL: 0, Severity.WARNING: 1}
    return sorted(found, key=lambda alert: (order[Severity(alert.severity)], alert.store.name))


def _low_stock(stores: QuerySet[Store], today: date) -> list[Alert]:
    alerts = []
    for row in reports.days_of_supply(stores, today):
        threshold = reports.low_stock_days(row.store.region.country)
        if not row.on_hand or row.days is None or row.days >= threshold:
            continue
        message = _(
            "{vaccine}: {doses} doses left, about {days} days at {daily} doses a day."
        ).format(vaccine=row.vaccine.code, doses=row.on_hand, days=row.days, daily=row.daily)
        alerts.append(
            Alert(AlertKind.LOW_STOCK, Severity.WARNING, row.store, message, vaccine=row.vaccine)
        )
    return alerts


def _stock_outs(stores: QuerySet[Store], today: date) -> list[Alert]:
    return [
        Alert(
            AlertKind.STOCK_OUT,
            Severity.CRITICAL,
            row.store,
            _("{vaccine}: none left (last moved on {day}).").format(
                vaccine=row.vaccine.code,
                day=date_format(timezone.localdate(row.last_move_at), "DATE_FORMAT"),
            ),
            vaccine=row.vaccine,
        )
        for row in reports.stock_outs(stores, today)
    ]


def _expiry(stores: QuerySet[Store], today: date) -> list[Alert]:
    alerts = []
    for row in reports.near_expiry(stores, today):
        expiry = date_format(row.batch.expires_on, "DATE_FORMAT")
        if row.batch.is_expired(on=today):
            kind, severity = AlertKind.EXPIRED, Severity.CRITICAL
            message = _("{vaccine} batch {lot}: {doses} doses expired on {day}.").format(
                vaccine=row.vaccine.code, lot=row.batch.lot_number, doses=row.doses, day=expiry
            )
        else:
            kind, severity = AlertKind.NEAR_EXPIRY, Severity.WARNING
            left = (row.batch.expires_on - today).days
            message = ngettext(
                "{vaccine} batch {lot}: {doses} doses expire on {day}, in {count} day.",
                "{vaccine} batch {lot}: {doses} doses expire on {day}, in {count} days.",
                left,
            ).format(
                vaccine=row.vaccine.code,
                lot=row.batch.lot_number,
                doses=row.doses,
                day=expiry,
                count=left,
            )
        alerts.append(Alert(kind, severity, row.store, message, row.vaccine, row.batch))
    return alerts


def _excursions(stores: QuerySet[Store]) -> list[Alert]:
    alerts = []
    for excursion in reports.open_excursions(stores):
        started = date_format(timezone.localtime(excursion.started_at), "DATETIME_FORMAT")
        if excursion.ended_at is None:
            message = _("{equipment}: {kind} since {start}, not yet acknowledged.")
        else:
            message = _("{equipment}: {kind} from {start}, not yet acknowledged.")
        text = message.format(
            equipment=excursion.equipment.label,
            kind=excursion.get_kind_display(),
            start=started,
        )
        alerts.append(
            Alert(
                AlertKind.EXCURSION,
                Severity.CRITICAL,
                excursion.equipment.store,
                text,
                excursion=excursion,
            )
        )
    return alerts
