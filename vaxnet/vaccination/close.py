"""Closing a session at the end of its day: vials back, wastage, the people who did not come.

`session_close` does it in one transaction: the session turns CLOSED with one conditional
UPDATE (two managers closing at once close it once), the appointments still booked turn
NO_SHOW before anyone still checked in is counted (a check-in racing the close either lands
first, and the close is refused, or finds the appointment gone), and the stock is closed by
`stock.services.session_stock_close`, which holds the session's accounts: a dose recorded at
the same moment is either counted by the close or booked after it as a late record.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.messages import notify_beneficiary
from vaxnet.booking.models import Appointment, Session, SessionDose
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.dashboard.services import session_status_changed
from vaxnet.stock.models import Batch, SessionStock
from vaxnet.stock.services import SessionBatchStock, session_stock_close
from vaxnet.stock.sessions import session_accounts

Status = Appointment.Status


@dataclass(frozen=True)
class CloseLine:
    """One batch on the close form: what was issued and given, and the vials left unopened."""

    account: SessionStock

    @property
    def batch(self) -> Batch:
        """Return the batch."""
        return self.account.batch

    @property
    def vials_out(self) -> int:
        """Return the vials issued and not yet returned."""
        return self.account.vials_issued - self.account.vials_returned

    @property
    def vials_needed(self) -> int:
        """Return the vials the doses given had to open (whole vials, rounded up)."""
        return -(-self.account.doses_given // self.account.doses_per_vial)

    @property
    def unopened(self) -> int:
        """Return the whole vials the doses given did not need: the default return."""
        return max(0, self.vials_out - self.vials_needed)

    @property
    def wastage(self) -> int:
        """Return the open-vial wastage if the default vials are returned."""
        return self.vials_needed * self.account.doses_per_vial - self.account.doses_given


@dataclass(frozen=True)
class SessionSummary:
    """A session's day in figures: per batch opened, given, wasted, returned; per outcome people."""

    session: Session
    batches: list[SessionBatchStock]
    vaccinated: int
    not_given: int
    no_show: int
    walk_ins: int
    checked_in: int
    booked: int

    @property
    def doses_given(self) -> int:
        """Return the doses given from every batch."""
        return sum(line.doses_given for line in self.batches)

    @property
    def doses_wasted(self) -> int:
        """Return the open-vial wastage of every batch."""
        return sum(line.wastage for line in self.batches)


def close_lines(session: Session) -> list[CloseLine]:
    """Return the close form's lines: each batch issued to the session, first expiry first."""
    return [CloseLine(account) for account in session_accounts(session)]


def session_summary(session: Session) -> SessionSummary:
    """Return the session's figures as they stand now (after the close: as it was closed)."""
    batches = [
        SessionBatchStock(
            account.batch, account.vials_issued, account.vials_returned, account.doses_given
        )
        for account in session_accounts(session)
    ]
    counts = Appointment.objects.filter(session=session).aggregate(
        vaccinated=Count("pk", filter=Q(status=Status.VACCINATED)),
        not_given=Count("pk", filter=Q(status=Status.NOT_GIVEN)),
        no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
        checked_in=Count("pk", filter=Q(status=Status.CHECKED_IN)),
        booked=Count("pk", filter=Q(status=Status.BOOKED)),
        walk_ins=Count(
            "pk",
            filter=Q(channel=Appointment.Channel.ONSITE) & ~Q(status=Status.CANCELLED),
        ),
    )
    return SessionSummary(session=session, batches=batches, **counts)


def _refuse_unclosable(session: Session, now: datetime) -> None:
    """Refuse a session that is not planned, or whose day has not come."""
    if session.status == Session.Status.CLOSED:
        raise DomainError("session_closed", _("This session has already been closed."))
    if session.status != Session.Status.PLANNED:
        raise DomainError("session_cancelled", _("This session has been cancelled."))
    if session.date > timezone.localdate(now):
        raise DomainError(
            "session_in_future", _("A session can be closed on its day or after, not before.")
        )


def session_close(
    *,
    by: User,
    session: Session,
    unopened_vials: Mapping[Batch, int],
    now: datetime | None = None,
) -> SessionSummary:
    """Close a session: return unopened vials, book doses and wastage, mark the absent no-show."""
    now = now or timezone.now()
    _refuse_unclosable(session, now)
    with transaction.atomic():
        # The conditional UPDATE is the close's lock: a second close finds nothing to change.
        if not Session.objects.filter(pk=session.pk, status=Session.Status.PLANNED).update(
            status=Session.Status.CLOSED
        ):
            fresh = Session.objects.get(pk=session.pk)
            _refuse_unclosable(fresh, now)
            raise DomainError("session_closed", _("This session has already been closed."))
        session_status_changed(session.pk, Session.Status.PLANNED)
        # Walk-ins take an on-site place first: holding the places keeps one out until the commit.
        list(SessionDose.objects.filter(session=session).select_for_update())
        absent = list(
            Appointment.objects.filter(session=session, status=Status.BOOKED)
            .select_related("beneficiary__account", "slot")
            .order_by("pk")
        )
        marked = Appointment.objects.filter(
            pk__in=[appointment.pk for appointment in absent], status=Status.BOOKED
        ).update(status=Status.NO_SHOW)
        # Counted after the no-shows: a check-in that got in first is seen here.
        if Appointment.objects.filter(session=session, status=Status.CHECKED_IN).exists():
            raise DomainError(
                "people_waiting",
                _(
                    "People are checked in and waiting: record their dose, or that it was "
                    "not given, before closing."
                ),
            )
        session_stock_close(by=by, session=session, unopened_vials=unopened_vials, now=now)
        session.status = Session.Status.CLOSED
        link = f"{settings.PUBLIC_URL}{reverse('booking:find')}"
        for appointment in absent:
            notify_beneficiary(
                beneficiary=appointment.beneficiary,
                session=session,
                slot=appointment.slot,
                template="no_show_rebook",
                dedupe_key=f"no_show_rebook:{appointment.public_id}",
                link=link,
            )
        summary = session_summary(session)
        audit_record(
            actor=by,
            action="session.close",
            obj=session,
            data={
                "no_show": marked,
                "vaccinated": summary.vaccinated,
                "not_given": summary.not_given,
                "walk_ins": summary.walk_ins,
                "unopened_vials": {
                    batch.public_id: vials for batch, vials in unopened_vials.items()
                },
            },
        )
    return summary
