"""Every write to a store's stock: batches, receipts, wastage, doses given, counts, sessions.

Each change of stock is one `StockMove`, never updated or deleted, and the store's `Balance`
of the batch is changed in the same transaction by one conditional UPDATE that cannot take
it below zero (`record_move`): the only judge of what a store holds, correct on SQLite and
PostgreSQL without reading the balance under a lock. Transfers between stores and the
requisitions that ask for them are in requisitions.py.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.models import Session
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.rows import columns, insert_returning, model_from_row
from vaxnet.dashboard.services import facts_tallied, move_facts
from vaxnet.stock.models import (
    Balance,
    Batch,
    PendingAdjustment,
    SessionStock,
    StockMove,
    Store,
    Transfer,
)
from vaxnet.stock.sessions import account_issue, account_return
from vaxnet.vaccines.models import Vaccine

Kind = StockMove.Kind
Reason = StockMove.Reason

# Reasons a store keeper may give for wastage; transit losses and count differences have
# their own services.
WASTAGE_REASONS = frozenset(
    {Reason.OPEN_VIAL, Reason.BREAKAGE, Reason.COLD_CHAIN, Reason.VVM, Reason.EXPIRY, Reason.RECALL}
)

# --- the ledger's one write -------------------------------------------------------------------


def record_move(
    *,
    store: Store,
    batch: Batch,
    kind: str,
    doses: int,
    vials: int = 0,
    by: User | None,
    at: datetime,
    reason: str = "",
    transfer: Transfer | None = None,
    session: Session | None = None,
    note: str = "",
) -> StockMove:
    """Write one move and its balance, or refuse with `stock_insufficient`; inside a transaction.

    A move into the store first makes sure the balance row exists (an INSERT that does nothing
    when it does); then one UPDATE adds the move only if the balance stays at or above zero.
    Concurrent moves of the same store and batch wait for each other at that row (PostgreSQL)
    or at the write lock (SQLite), and each judges the balance the other left.
    """
    if doses > 0:
        insert_returning(Balance(store=store, batch=batch), ignore_conflicts=True)
    table = Balance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET doses = doses + %s, vials = vials + %s "  # noqa: S608
            "WHERE store_id = %s AND batch_id = %s AND doses + %s >= 0",
            [doses, vials, store.pk, batch.pk, doses],
        )
        if cursor.rowcount != 1:
            raise DomainError(
                "stock_insufficient",
                _("{store} does not hold {doses} doses of batch {lot}.").format(
                    store=store.name, doses=-doses, lot=batch.lot_number
                ),
            )
    move = StockMove(
        store=store,
        batch=batch,
        kind=kind,
        reason=reason,
        doses=doses,
        vials=vials,
        at=at,
        by=by if by is not None and by.pk else None,
        transfer=transfer,
        session=session,
        note=note,
    )
    insert_returning(move)
    facts_tallied(move_facts([move.pk]))
    return move


def _fresh_batch(batch: Batch) -> Batch:
    """Re-read the batch in the transaction; on PostgreSQL hold a recall off until the commit.

    A share lock: moves of the batch do not wait for each other, a recall waits for them
    and every move after it sees it. SQLite's write transaction already excludes the recall.
    """
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns([(Batch, 'b')])} FROM {Batch._meta.db_table} b "  # noqa: S608
            f"WHERE b.id = %s{lock}",
            [batch.pk],
        )
        row = cursor.fetchone()
    return model_from_row(Batch, row, "b")


def _check_not_recalled(batch: Batch) -> None:
    if batch.is_recalled():
        raise DomainError(
            "batch_recalled",
            _("Batch {lot} has been recalled: it can only be returned or written off.").format(
                lot=batch.lot_number
            ),
        )


def check_usable(batch: Batch, *, on: date) -> Batch:
    """Refuse a batch that may not be given, issued or sent on that local day; return it fresh."""
    fresh = _fresh_batch(batch)
    _check_not_recalled(fresh)
    if fresh.is_expired(on=on):
        raise DomainError(
            "batch_expired",
            _("Batch {lot} expired on {expiry}.").format(
                lot=fresh.lot_number, expiry=fresh.expires_on.isoformat()
            ),
        )
    if fresh.is_discarded_by_vvm():
        raise DomainError(
            "batch_vvm_discard",
            _("The vial monitor of batch {lot} says to discard it.").format(lot=fresh.lot_number),
        )
    return fresh


def whole_vials(batch: Batch, doses: int, *, field: str = "doses") -> int:
    """Return the whole vials the doses make, or refuse doses that are not whole vials."""
    if doses <= 0:
        raise DomainError(
            "doses_not_positive", _("Give a number of doses above zero."), field=field
        )
    vials, rest = divmod(doses, batch.doses_per_vial)
    if rest:
        raise DomainError(
            "whole_vials",
            _("Batch {lot} comes in vials of {size} doses: give whole vials.").format(
                lot=batch.lot_number, size=batch.doses_per_vial
            ),
            field=field,
        )
    return vials


def check_active(store: Store) -> None:
    if not store.active:
        raise DomainError("store_inactive", _("{store} is closed.").format(store=store.name))


def _ids(store: Store, batch: Batch) -> dict[str, str]:
    return {"store": store.public_id, "batch": batch.public_id}


# --- batches --------------------------------------------------------------------------------


def batch_register(
    *,
    by: User | None,
    vaccine: Vaccine,
    lot_number: str,
    manufacturer: str,
    expires_on: date,
    doses_per_vial: int | None = None,
) -> Batch:
    """Register a manufacturer's lot of a vaccine (once per vaccine and lot number)."""
    lot_number = lot_number.strip()
    if not lot_number:
        raise DomainError("lot_required", _("Give the lot number."), field="lot_number")
    size = vaccine.doses_per_vial if doses_per_vial is None else doses_per_vial
    if size < 1:
        raise DomainError(
            "doses_per_vial", _("A vial holds at least one dose."), field="doses_per_vial"
        )
    with transaction.atomic():
        batch = Batch(
            vaccine=vaccine,
            lot_number=lot_number,
            manufacturer=manufacturer or vaccine.manufacturer,
            expires_on=expires_on,
            doses_per_vial=size,
        )
        try:
            with transaction.atomic():
                batch.save(force_insert=True)
        except IntegrityError:
            raise DomainError(
                "batch_exists",
                _("Lot {lot} of {vaccine} is registered already.").format(
                    lot=lot_number, vaccine=vaccine.code
                ),
                field="lot_number",
            ) from None
        audit_record(
            actor=by,
            action="stock.batch_register",
            obj=batch,
            data={"vaccine": vaccine.code, "lot": lot_number, "expires_on": expires_on.isoformat()},
        )
    return batch


def batch_recall(
    *, by: User | None, batch: Batch, reason: str, now: datetime | None = None
) -> Batch:
    """Recall a batch everywhere: from now on it can only be returned or written off."""
    reason = reason.strip()
    if not reason:
        raise DomainError("reason_required", _("Say why the batch is recalled."), field="reason")
    now = now or timezone.now()
    with transaction.atomic():
        # Waits on PostgreSQL for moves holding the batch (see _fresh_batch).
        changed = Batch.objects.filter(pk=batch.pk, recalled_at__isnull=True).update(
            recalled_at=now, recall_reason=reason
        )
        if not changed:
            raise DomainError("batch_recalled", _("This batch has been recalled already."))
        audit_record(actor=by, action="stock.batch_recall", obj=batch, data={"reason": reason})
    batch.refresh_from_db()
    return batch


# --- receipts and wastage ---------------------------------------------------------------------


def stock_receive(
    *,
    by: User | None,
    store: Store,
    batch: Batch,
    doses: int,
    supplier: str,
    now: datetime | None = None,
) -> StockMove:
    """Record stock received from a manufacturer or supplier, in whole vials."""
    now = now or timezone.now()
    vials = whole_vials(batch, doses)
    supplier = supplier.strip()
    if not supplier:
        raise DomainError("supplier_required", _("Say who supplied the stock."), field="supplier")
    check_active(store)
    with transaction.atomic():
        check_usable(batch, on=timezone.localdate(now))
        move = record_move(
            store=store,
            batch=batch,
            kind=Kind.RECEIPT,
            doses=doses,
            vials=vials,
            by=by,
            at=now,
            note=supplier,
        )
        audit_record(
            actor=by,
            action="stock.receive",
            obj=move,
            data={**_ids(store, batch), "doses": doses, "supplier": supplier},
        )
    return move


def stock_waste(
    *,
    by: User | None,
    store: Store,
    batch: Batch,
    doses: int,
    reason: str,
    note: str = "",
    now: datetime | None = None,
) -> StockMove:
    """Write off wasted doses with a reason; only open-vial wastage may be part of a vial.

    Recalled and expired batches may be written off: that is how they leave the books.
    """
    if reason not in WASTAGE_REASONS:
        raise DomainError("wastage_reason", _("Choose why the doses were wasted."), field="reason")
    if reason == Reason.OPEN_VIAL:
        if doses <= 0:
            raise DomainError(
                "doses_not_positive", _("Give a number of doses above zero."), field="doses"
            )
        vials = 0
    else:
        vials = whole_vials(batch, doses)
    now = now or timezone.now()
    with transaction.atomic():
        move = record_move(
            store=store,
            batch=batch,
            kind=Kind.WASTAGE,
            reason=reason,
            doses=-doses,
            vials=-vials,
            by=by,
            at=now,
            note=note.strip(),
        )
        audit_record(
            actor=by,
            action="stock.waste",
            obj=move,
            data={**_ids(store, batch), "doses": doses, "reason": reason},
        )
    return move


def stock_consume(
    *,
    by: User | None,
    store: Store,
    batch: Batch,
    doses: int = 1,
    session: Session | None = None,
    now: datetime | None = None,
) -> StockMove:
    """Record doses given straight from a store's stock, without an issue to a session.

    Doses given in a session from vials issued to it are booked when its stock is closed
    (`session_stock_close`), not here: the issue has taken them from the store already.
    """
    if doses <= 0:
        raise DomainError("doses_not_positive", _("Give a number of doses above zero."))
    now = now or timezone.now()
    with transaction.atomic():
        check_usable(batch, on=timezone.localdate(now))
        move = record_move(
            store=store,
            batch=batch,
            kind=Kind.CONSUMPTION,
            doses=-doses,
            by=by,
            at=now,
            session=session,
        )
        audit_record(
            actor=by, action="stock.consume", obj=move, data={**_ids(store, batch), "doses": doses}
        )
    return move


# --- counts and adjustments -------------------------------------------------------------------


@dataclass(frozen=True)
class CountOutcome:
    """What a count did: the difference found, and the move made or the adjustment waiting."""

    difference: int
    move: StockMove | None = None
    pending: PendingAdjustment | None = None


def _hold_balance(store: Store, batch: Batch) -> int:
    """Return the store's balance of the batch, holding its row until the commit.

    A no-op UPDATE takes the row's lock on PostgreSQL (SQLite's write transaction holds
    everything), so that no move slips between the reading and the adjustment.
    """
    insert_returning(Balance(store=store, batch=batch), ignore_conflicts=True)
    table = Balance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET doses = doses WHERE store_id = %s AND batch_id = %s",  # noqa: S608
            [store.pk, batch.pk],
        )
        cursor.execute(
            f"SELECT doses FROM {table} WHERE store_id = %s AND batch_id = %s",  # noqa: S608
            [store.pk, batch.pk],
        )
        row = cursor.fetchone()
    return int(row[0])


def _adjustment_vials(batch: Batch, difference: int) -> int:
    """Return the whole vials a difference makes (toward zero); part of a vial moves none."""
    vials = abs(difference) // batch.doses_per_vial
    return vials if difference > 0 else -vials


def stock_count(
    *,
    by: User | None,
    store: Store,
    batch: Batch,
    counted_doses: int,
    reason: str,
    now: datetime | None = None,
) -> CountOutcome:
    """Record a physical count: a small difference is adjusted at once, a large one waits.

    The difference is counted − balance at this moment. At most the pack's
    `[stock] adjustment_approval_doses` (default 100) either way, it is an ADJUSTMENT move
    now; above that a PendingAdjustment waits for a district administrator
    (`adjustment_decide`). A recalled batch cannot be adjusted: write it off instead.
    """
    reason = reason.strip()
    if counted_doses < 0:
        raise DomainError(
            "count_negative", _("A count cannot be below zero."), field="counted_doses"
        )
    if not reason:
        raise DomainError("reason_required", _("Say why the count differs."), field="reason")
    now = now or timezone.now()
    threshold = int(store.region.country.setting("stock", "adjustment_approval_doses", 100))
    with transaction.atomic():
        _check_not_recalled(_fresh_batch(batch))
        balance = _hold_balance(store, batch)
        difference = counted_doses - balance
        data = {**_ids(store, batch), "counted": counted_doses, "balance": balance}
        if difference == 0:
            audit_record(actor=by, action="stock.count", obj=store, data=data)
            return CountOutcome(0)
        if abs(difference) <= threshold:
            move = record_move(
                store=store,
                batch=batch,
                kind=Kind.ADJUSTMENT,
                reason=Reason.COUNT,
                doses=difference,
                vials=_adjustment_vials(batch, difference),
                by=by,
                at=now,
                note=reason,
            )
            audit_record(actor=by, action="stock.count", obj=move, data=data)
            return CountOutcome(difference, move=move)
        pending = PendingAdjustment(
            store=store,
            batch=batch,
            counted_doses=counted_doses,
            balance_doses=balance,
            reason=reason,
            counted_at=now,
            counted_by=by if by is not None and by.pk else None,
        )
        pending.save(force_insert=True)
        audit_record(actor=by, action="stock.count", obj=pending, data=data)
    return CountOutcome(difference, pending=pending)


def adjustment_decide(
    *,
    by: User | None,
    pending: PendingAdjustment,
    approve: bool,
    now: datetime | None = None,
) -> PendingAdjustment:
    """Approve or reject a waiting adjustment; an approval applies the difference counted.

    The move is counted − balance at the time of the count, not at the decision: moves
    since (issues, receipts) are real and stay. An approval that would take the balance
    below zero is refused (`stock_insufficient`); the store counts again. Whoever counted
    cannot decide.
    """
    if by is not None and by.pk is not None and by.pk == pending.counted_by_id:
        raise DomainError("own_count", _("Someone other than the person who counted must decide."))
    now = now or timezone.now()
    status = PendingAdjustment.Status.APPROVED if approve else PendingAdjustment.Status.REJECTED
    with transaction.atomic():
        changed = PendingAdjustment.objects.filter(
            pk=pending.pk, status=PendingAdjustment.Status.WAITING
        ).update(status=status, decided_at=now, decided_by=by if by and by.pk else None)
        if not changed:
            raise DomainError("adjustment_decided", _("This adjustment has been decided already."))
        pending.refresh_from_db(fields=["status", "decided_at", "decided_by"])
        difference = pending.counted_doses - pending.balance_doses
        data = {**_ids(pending.store, pending.batch), "approve": approve, "doses": difference}
        if approve:
            _check_not_recalled(_fresh_batch(pending.batch))
            record_move(
                store=pending.store,
                batch=pending.batch,
                kind=Kind.ADJUSTMENT,
                reason=Reason.COUNT,
                doses=difference,
                vials=_adjustment_vials(pending.batch, difference),
                by=by,
                at=now,
                note=pending.reason,
            )
        audit_record(actor=by, action="stock.adjustment_decide", obj=pending, data=data)
    return pending


# --- sessions ---------------------------------------------------------------------------------


def _hold_session(session: Session) -> Session:
    """Re-read the session, holding it until the commit: a session's stock moves one at a time."""
    held = Session.objects.select_for_update().select_related("vaccine").get(pk=session.pk)
    return held


def _session_settled(session: Session) -> bool:
    """Return whether the session's stock has been closed (its accounts closed)."""
    return SessionStock.objects.filter(session=session, closed_at__isnull=False).exists()


def _session_store(session: Session, store: Store) -> None:
    if store.facility_id != session.facility_id:
        raise DomainError(
            "session_elsewhere", _("This session is held at another facility."), field="session"
        )


def _session_vials(session: Session, batch: Batch) -> tuple[int, int]:
    """Return the vials of the batch issued to the session and returned from it, unopened."""
    moves = StockMove.objects.filter(session=session, batch=batch)
    issued = moves.filter(kind=Kind.ISSUE).aggregate(v=Sum("vials"))["v"] or 0
    returned = moves.filter(kind=Kind.RETURN, vials__gt=0).aggregate(v=Sum("vials"))["v"] or 0
    return -issued, returned


def stock_issue(
    *,
    by: User | None,
    store: Store,
    batch: Batch,
    session: Session,
    vials: int,
    now: datetime | None = None,
) -> StockMove:
    """Issue whole vials from the facility's store to one of its planned sessions.

    The batch must be usable on the later of today and the session's day.
    """
    if vials <= 0:
        raise DomainError("vials_not_positive", _("Give a number of vials above zero."))
    _session_store(session, store)
    check_active(store)
    now = now or timezone.now()
    with transaction.atomic():
        held = _hold_session(session)
        if held.status != Session.Status.PLANNED or _session_settled(held):
            raise DomainError("session_not_open", _("This session no longer takes stock."))
        if batch.vaccine_id != held.vaccine_id:
            raise DomainError(
                "wrong_vaccine",
                _("This session gives {vaccine}.").format(vaccine=held.vaccine.code),
                field="batch",
            )
        check_usable(batch, on=max(timezone.localdate(now), held.date))
        doses = vials * batch.doses_per_vial
        move = record_move(
            store=store,
            batch=batch,
            kind=Kind.ISSUE,
            doses=-doses,
            vials=-vials,
            by=by,
            at=now,
            session=held,
        )
        account_issue(session=held, batch=batch, vials=vials)
        audit_record(
            actor=by,
            action="stock.issue",
            obj=move,
            data={**_ids(store, batch), "session": held.public_id, "vials": vials},
        )
    return move


def _return(
    *, by: User | None, store: Store, batch: Batch, session: Session, vials: int, at: datetime
) -> StockMove:
    issued, returned = _session_vials(session, batch)
    if vials > issued - returned:
        raise DomainError(
            "return_more_than_issued",
            _("Only {vials} unopened vials of batch {lot} are out at this session.").format(
                vials=issued - returned, lot=batch.lot_number
            ),
        )
    account_return(session=session, batch=batch, vials=vials)
    return record_move(
        store=store,
        batch=batch,
        kind=Kind.RETURN,
        doses=vials * batch.doses_per_vial,
        vials=vials,
        by=by,
        at=at,
        session=session,
    )


def stock_return(
    *,
    by: User | None,
    store: Store,
    batch: Batch,
    session: Session,
    vials: int,
    now: datetime | None = None,
) -> StockMove:
    """Return unopened vials from a session to the store that issued them (recalled ones too)."""
    if vials <= 0:
        raise DomainError("vials_not_positive", _("Give a number of vials above zero."))
    _session_store(session, store)
    now = now or timezone.now()
    with transaction.atomic():
        held = _hold_session(session)
        if _session_settled(held):
            raise DomainError("session_stock_closed", _("This session's stock has been closed."))
        move = _return(by=by, store=store, batch=batch, session=held, vials=vials, at=now)
        audit_record(
            actor=by,
            action="stock.return",
            obj=move,
            data={**_ids(store, batch), "session": held.public_id, "vials": vials},
        )
    return move


@dataclass(frozen=True)
class SessionBatchStock:
    """One batch's account at a session's close: vials out and back, doses given and wasted."""

    batch: Batch
    vials_issued: int
    vials_returned: int
    doses_given: int

    @property
    def vials_opened(self) -> int:
        """Return the vials opened: issued and not returned."""
        return self.vials_issued - self.vials_returned

    @property
    def doses_opened(self) -> int:
        """Return the doses the opened vials held."""
        return self.vials_opened * self.batch.doses_per_vial

    @property
    def wastage(self) -> int:
        """Return the open-vial wastage: doses opened − doses given."""
        return self.doses_opened - self.doses_given


def session_stock_close(
    *,
    by: User | None,
    session: Session,
    doses_given: Mapping[Batch, int] | None = None,
    unopened_vials: Mapping[Batch, int] | None = None,
    now: datetime | None = None,
) -> list[SessionBatchStock]:
    """Close a session's stock: return what is unopened, book the doses given and the wastage.

    For each batch issued to the session, vials opened = issued − returned unopened (those
    in `unopened_vials` are returned now), and open-vial wastage = vials opened × doses per
    vial − doses given (`doses_given`: the doses recorded in the session, per batch). The
    opened vials come back to the store's books at the close (a RETURN of their doses and
    no whole vial) and leave at once as the doses given (CONSUMPTION) and the doses wasted
    (WASTAGE, open_vial): the balance ends where the issues and returns left it, and the
    ledger says per batch and session what was given and what was wasted. More doses
    recorded than the opened vials held is refused (`doses_exceed_opened`), as is a dose
    recorded from a batch never issued to the session (`batch_not_issued`).

    Without `doses_given`, the doses are those recorded in the session (its accounts, kept
    by `sessions.session_doses_take`); a session recorded on paper gives them here instead.
    The accounts are closed either way: the session's stock cannot be closed twice.
    """
    now = now or timezone.now()
    unopened_vials = unopened_vials or {}
    recorded = doses_given is None
    doses_given = doses_given or {}
    if any(doses < 0 for doses in doses_given.values()) or any(
        vials < 0 for vials in unopened_vials.values()
    ):
        raise DomainError("doses_not_positive", _("Doses and vials cannot be below zero."))
    with transaction.atomic():
        held = _hold_session(session)
        if _session_settled(held):
            raise DomainError("session_stock_closed", _("This session's stock has been closed."))
        store = Store.objects.filter(facility_id=held.facility_id).first()
        issued_ids = set(
            StockMove.objects.filter(session=held, kind=Kind.ISSUE).values_list(
                "batch_id", flat=True
            )
        )
        for batch in [*doses_given, *unopened_vials]:
            if batch.pk not in issued_ids and (doses_given.get(batch) or unopened_vials.get(batch)):
                raise DomainError(
                    "batch_not_issued",
                    _("Batch {lot} was not issued to this session.").format(lot=batch.lot_number),
                )
        if store is None:
            return []
        accounts_now = {
            account.batch_id: account
            for account in SessionStock.objects.filter(session=held).select_for_update()
        }
        if recorded:
            given = {batch_id: account.doses_given for batch_id, account in accounts_now.items()}
        else:
            given = {batch.pk: doses for batch, doses in doses_given.items()}
        back = {batch.pk: vials for batch, vials in unopened_vials.items()}
        accounts = []
        for batch in Batch.objects.filter(pk__in=issued_ids).order_by("pk"):
            if back.get(batch.pk):
                _return(by=by, store=store, batch=batch, session=held, vials=back[batch.pk], at=now)
            issued, returned = _session_vials(held, batch)
            account = SessionBatchStock(batch, issued, returned, given.get(batch.pk, 0))
            if account.wastage < 0:
                raise DomainError(
                    "doses_exceed_opened",
                    _(
                        "{given} doses of batch {lot} were recorded, but the {vials} vials "
                        "opened held {doses}: check the vials returned."
                    ).format(
                        given=account.doses_given,
                        lot=batch.lot_number,
                        vials=account.vials_opened,
                        doses=account.doses_opened,
                    ),
                )
            if account.doses_opened:
                settle = partial(record_move, store=store, batch=batch, by=by, at=now, session=held)
                settle(kind=Kind.RETURN, doses=account.doses_opened)
                if account.doses_given:
                    settle(kind=Kind.CONSUMPTION, doses=-account.doses_given)
                if account.wastage:
                    settle(kind=Kind.WASTAGE, reason=Reason.OPEN_VIAL, doses=-account.wastage)
            accounts.append(account)
        _close_accounts(held, given, now)
        audit_record(
            actor=by,
            action="stock.session_close",
            obj=held,
            data={
                account.batch.public_id: {
                    "opened": account.vials_opened,
                    "given": account.doses_given,
                    "wasted": account.wastage,
                }
                for account in accounts
            },
        )
    return accounts


def _close_accounts(session: Session, given: Mapping[int, int], now: datetime) -> None:
    """Mark the session's accounts closed, with the doses the close booked as given."""
    for batch_id, doses in given.items():
        SessionStock.objects.filter(session=session, batch_id=batch_id).update(doses_given=doses)
    SessionStock.objects.filter(session=session).update(closed_at=now)
