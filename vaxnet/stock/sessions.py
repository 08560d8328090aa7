"""A session's stock account per batch: vials issued and returned, doses given from them.

The services that issue and return vials keep the account in their transaction; recording
a dose takes it from the account with one conditional UPDATE (`session_doses_take`), so
that the doses recorded in a session never exceed what its opened vials held, whatever
the number of vaccinators recording at once. Until the session's stock is closed the
ledger is not touched per dose: the issue already took the vials out of the store, and the
close books the doses given and the open-vial wastage (`services.session_stock_close`).
A dose recorded or corrected after the close moves a dose between "given" and "wasted" in
the ledger, so that the ledger still says per batch and session what was given.
"""

from datetime import datetime

from django.db import connection
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.models import Session
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.rows import insert_returning
from vaxnet.stock.models import Batch, SessionStock, StockMove, Store

_TABLE = SessionStock._meta.db_table


def account_issue(*, session: Session, batch: Batch, vials: int) -> None:
    """Add vials issued to the session's account of the batch; inside the issue's transaction."""
    insert_returning(
        SessionStock(session=session, batch=batch, doses_per_vial=batch.doses_per_vial),
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET vials_issued = vials_issued + %s "  # noqa: S608
            "WHERE session_id = %s AND batch_id = %s",
            [vials, session.pk, batch.pk],
        )


def account_return(*, session: Session, batch: Batch, vials: int) -> None:
    """Take returned vials off the account, or refuse when the doses given need them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET vials_returned = vials_returned + %s "  # noqa: S608
            "WHERE session_id = %s AND batch_id = %s "
            "AND (vials_issued - vials_returned - %s) * doses_per_vial >= doses_given",
            [vials, session.pk, batch.pk, vials],
        )
        if cursor.rowcount == 1:
            return
    raise DomainError(
        "vials_in_use",
        _(
            "The doses recorded from batch {lot} were drawn from these vials: they were opened."
        ).format(lot=batch.lot_number),
        field="vials",
    )


def session_doses_take(
    *, session: Session, batch: Batch, doses: int, by: User | None, at: datetime
) -> SessionStock:
    """Take doses given from (or, below zero, give back to) the session's vials of the batch.

    Refuses a batch never issued to the session (`batch_not_issued`) and a dose the vials
    issued and not returned no longer hold (`no_doses_left`). Inside the caller's transaction.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET doses_given = doses_given + %s "  # noqa: S608
            "WHERE session_id = %s AND batch_id = %s AND doses_given + %s >= 0 "
            "AND doses_given + %s <= (vials_issued - vials_returned) * doses_per_vial "
            "RETURNING id, doses_per_vial, vials_issued, vials_returned, doses_given, closed_at",
            [doses, session.pk, batch.pk, doses, doses],
        )
        row = cursor.fetchone()
    if row is None:
        if not SessionStock.objects.filter(session=session, batch=batch).exists():
            raise DomainError(
                "batch_not_issued",
                _("Batch {lot} was not issued to this session.").format(lot=batch.lot_number),
                field="batch",
            )
        raise DomainError(
            "no_doses_left",
            _(
                "The vials of batch {lot} issued to this session hold no more doses: "
                "ask for another vial to be issued."
            ).format(lot=batch.lot_number),
            field="batch",
        )
    account = SessionStock(
        id=row[0],
        session=session,
        batch=batch,
        doses_per_vial=row[1],
        vials_issued=row[2],
        vials_returned=row[3],
        doses_given=row[4],
        closed_at=row[5],
    )
    if account.closed_at is not None:
        _rebook_after_close(session=session, batch=batch, doses=doses, by=by, at=at)
    return account


def _rebook_after_close(
    *, session: Session, batch: Batch, doses: int, by: User | None, at: datetime
) -> None:
    """Move doses between "given" and "wasted" in the ledger of a session already closed.

    The store's balance does not change (the vials left it when they were issued); the
    move into the store is written first so that a store at zero can make the pair.
    """
    # The import is here because services imports this module for the issue and return.
    from vaxnet.stock.services import record_move

    store = Store.objects.get(facility_id=session.facility_id)
    given = StockMove(kind=StockMove.Kind.CONSUMPTION, doses=-doses)
    wasted = StockMove(kind=StockMove.Kind.WASTAGE, reason=StockMove.Reason.OPEN_VIAL, doses=doses)
    note = str(_("correction after the session's close"))
    for move in sorted([given, wasted], key=lambda move: -move.doses):
        record_move(
            store=store,
            batch=batch,
            kind=move.kind,
            reason=move.reason,
            doses=move.doses,
            by=by,
            at=at,
            session=session,
            note=note,
        )


def session_accounts(session: Session) -> list[SessionStock]:
    """Return the session's stock accounts with their batches, first expiry first."""
    return list(
        SessionStock.objects.filter(session=session)
        .select_related("batch__vaccine")
        .order_by("batch__expires_on", "batch__lot_number")
    )
