"""Stock pages for store keepers and administrators: stores, stock moves, transfers, cold chain.

Every store, transfer, requisition and adjustment is reached through its access chokepoint
(queries.py): for anyone without a role over it, it answers 404 as a missing one does.
"""

from collections.abc import Callable
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxnet.booking.staff_views import staff_required
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, is_htmx, staff_user
from vaxnet.facilities.models import REGION_ROLES
from vaxnet.stock import forms, queries, requisitions, services
from vaxnet.stock.models import (
    Batch,
    Excursion,
    PendingAdjustment,
    Requisition,
    Store,
    Transfer,
)
from vaxnet.stock.reports import STOCK_ROLES
from vaxnet.vaccines.models import Vaccine

ADMINS = REGION_ROLES
STORES_PER_PAGE = 50
REQUISITIONS_SHOWN = 20
# Where a new data logger key waits in the session to be shown once (coldchain_views).
LOGGER_KEYS = "stock_logger_keys"


def _found(lookup: Callable[..., Any], request: HttpRequest, public_id: str, **kw: Any) -> Any:
    """Call an access chokepoint; NotFound becomes the page's 404."""
    try:
        return lookup(
            staff_user(request), public_id.strip()[:16], roles=kw.get("roles", STOCK_ROLES)
        )
    except NotFound:
        raise Http404 from None


def _store(request: HttpRequest, public_id: str) -> Store:
    store: Store = _found(queries.store_for_staff, request, public_id)
    return store


def _store_url(store: Store) -> str:
    return reverse("stock:store", args=[store.public_id])


def _held_batches(store: Store) -> QuerySet[Batch]:
    return Batch.objects.filter(balances__store=store, balances__doses__gt=0).order_by(
        "vaccine__code", "expires_on", "lot_number"
    )


def _vaccines(store: Store) -> QuerySet[Vaccine]:
    return Vaccine.objects.filter(country_id=store.region.country_id, active=True).order_by("code")


def _form_page(
    request: HttpRequest,
    *,
    store: Store,
    form: django_forms.Form,
    title: str,
    action: str,
    submit: str,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    context = {
        "store": store,
        "form": form,
        "title": title,
        "action": action,
        "submit": submit,
        **(extra or {}),
    }
    template = "stock/_form.html" if is_htmx(request) else "stock/form.html"
    return render(request, template, context, status=status)


def _submit(
    request: HttpRequest,
    form: django_forms.Form,
    page: Callable[..., HttpResponse],
    act: Callable[[], str],
    done: str,
) -> HttpResponse:
    """On GET show the form; on POST check it, act through a service, and go on or refuse."""
    if request.method == "GET":
        return page(form)
    if not form.is_valid():
        return page(form, status=400)
    try:
        message = act()
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        forms.show_refusal(form, error)
        return page(form, status=400)
    messages.success(request, message)
    return go(request, done)


# --- stores -----------------------------------------------------------------------------------


@require_GET
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """List the stores the signed-in staff member may act on."""
    user = staff_user(request)
    scope = queries.stores_in_scope(user, STOCK_ROLES)
    page = None
    if scope is not None:
        stores = Store.objects.filter(scope).select_related("region", "facility")
        pages = Paginator(stores.order_by("region__path", "level", "name"), STORES_PER_PAGE)
        page = pages.get_page(request.GET.get("page"))
    admin = queries.stores_in_scope(user, ADMINS) is not None
    return render(request, "stock/home.html", {"page": page, "admin": admin})


def _store_page(
    request: HttpRequest, store: Store, *, errors: dict[str, str] | None = None, status: int = 200
) -> HttpResponse:
    today = timezone.localdate()
    rows = [
        {
            "balance": row,
            "batch": row.batch,
            "expired": row.batch.is_expired(on=today),
            "recalled": row.batch.is_recalled(),
            "discard": row.batch.is_discarded_by_vvm(),
        }
        for row in queries.balances(store)
    ]
    open_excursions = Excursion.objects.filter(
        Q(ended_at__isnull=True) | Q(acknowledged_at__isnull=True)
    ).order_by("-started_at")
    equipment = store.equipment.filter(active=True).prefetch_related(
        Prefetch("excursions", queryset=open_excursions, to_attr="open_excursions")
    )
    # Imported here: resolution_views builds on this module's helpers.

    context = {
        "store": store,
        "rows": rows,
        "transit": list(queries.transfers_in_transit(store)),
        "requisitions": list(queries.requisitions_of(store)[:REQUISITIONS_SHOWN]),
        "adjustments": list(
            store.adjustments.filter(status=PendingAdjustment.Status.WAITING).select_related(
                "batch__vaccine"
            )
        ),
        "equipment": list(equipment),
        "discrepancies": list(
            Transfer.objects.filter(Q(source=store) | Q(destination=store))
            .filter(status=Transfer.Status.DISCREPANCY)
            .select_related("source", "destination")
        ),
        "recall": queries.may_recall(staff_user(request), store),
        "children": store.children.filter(active=True).exists(),
        "errors": errors or {},
    }
    return render(request, "stock/store.html", context, status=status)


@require_GET
@staff_required
def store_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show a store: stock on hand, transit, requisitions, waiting counts, cold chain."""
    return _store_page(request, _store(request, public_id))


# --- stock in and out ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required
def receive(request: HttpRequest, public_id: str) -> HttpResponse:
    """Receive stock from a supplier: a registered batch, or a new one registered with it."""
    store = _store(request, public_id)
    vaccines = _vaccines(store)
    batches = Batch.objects.filter(
        vaccine__in=vaccines, recalled_at__isnull=True, expires_on__gte=timezone.localdate()
    ).order_by("vaccine__code", "expires_on", "lot_number")
    data = request.POST if request.method == "POST" else None
    form = forms.ReceiveForm(data, batches=batches, vaccines=vaccines)

    def page(form: forms.ReceiveForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Receive stock"),
            action=reverse("stock:receive", args=[store.public_id]),
            submit=_("Receive"),
            status=status,
        )

    def act() -> str:
        data = form.cleaned_data
        user = staff_user(request)
        # A new batch is registered only if its stock is received: both or neither.
        with transaction.atomic():
            batch = data["batch"] or services.batch_register(
                by=user,
                vaccine=data["vaccine"],
                lot_number=data["lot_number"],
                manufacturer=data["manufacturer"],
                expires_on=data["expires_on"],
                doses_per_vial=data["doses_per_vial"],
            )
            services.stock_receive(
                by=user, store=store, batch=batch, doses=data["doses"], supplier=data["supplier"]
            )
        return _("{doses} doses of lot {lot} received.").format(
            doses=data["doses"], lot=batch.lot_number
        )

    return _submit(request, form, page, act, _store_url(store))


@require_http_methods(["GET", "POST"])
@staff_required
def waste(request: HttpRequest, public_id: str) -> HttpResponse:
    """Write off wasted doses of a batch with a reason."""
    store = _store(request, public_id)
    data = request.POST if request.method == "POST" else None
    form = forms.WasteForm(data, batches=_held_batches(store))

    def page(form: forms.WasteForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Record wastage"),
            action=reverse("stock:waste", args=[store.public_id]),
            submit=_("Record wastage"),
            status=status,
        )

    def act() -> str:
        data = form.cleaned_data
        services.stock_waste(
            by=staff_user(request),
            store=store,
            batch=data["batch"],
            doses=data["doses"],
            reason=data["reason"],
            note=data["note"],
        )
        return _("{doses} doses of lot {lot} written off.").format(
            doses=data["doses"], lot=data["batch"].lot_number
        )

    return _submit(request, form, page, act, _store_url(store))


@require_http_methods(["GET", "POST"])
@staff_required
def count(request: HttpRequest, public_id: str) -> HttpResponse:
    """Record a physical count; a large difference waits for an administrator."""
    store = _store(request, public_id)
    data = request.POST if request.method == "POST" else None
    form = forms.CountForm(data, batches=_held_batches(store))

    def page(form: forms.CountForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Record a physical count"),
            action=reverse("stock:count", args=[store.public_id]),
            submit=_("Record the count"),
            status=status,
        )

    def act() -> str:
        data = form.cleaned_data
        outcome = services.stock_count(
            by=staff_user(request),
            store=store,
            batch=data["batch"],
            counted_doses=data["counted_doses"],
            reason=data["reason"],
        )
        if outcome.pending is not None:
            return _(
                "The count differs by {difference} doses: it waits for a district "
                "administrator's approval."
            ).format(difference=outcome.difference)
        if outcome.difference:
            return _("The count is recorded; the stock is adjusted by {difference} doses.").format(
                difference=outcome.difference
            )
        return _("The count is recorded; it matches the books.")

    return _submit(request, form, page, act, _store_url(store))


# --- transfers ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required
def dispatch(request: HttpRequest, public_id: str) -> HttpResponse:
    """Send a transfer to a store this one supplies; ?vaccine=&doses= suggests batches (FEFO)."""
    store = _store(request, public_id)
    today = timezone.localdate()
    stock = [
        (row.batch, row.doses)
        for row in queries.balances(store)
        if not row.batch.is_recalled()
        and not row.batch.is_expired(on=today)
        and not row.batch.is_discarded_by_vvm()
    ]
    suggested: dict[int, int] = {}
    vaccines = _vaccines(store)
    wanted = request.GET.get("vaccine", "")
    vaccine = vaccines.filter(code=wanted).first() if wanted else None
    if vaccine is not None and request.GET.get("doses", "").isdigit():
        doses = min(int(request.GET["doses"]), forms.MAX_DOSES)
        suggested = {b.pk: d for b, d in queries.fefo_allocate(store, vaccine, doses, today)}
    data = request.POST if request.method == "POST" else None
    form = forms.DispatchForm(
        data,
        destinations=store.children.filter(active=True).order_by("name"),
        stock=stock,
        suggested=suggested,
    )

    def page(form: forms.DispatchForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Send a transfer"),
            action=reverse("stock:dispatch", args=[store.public_id]),
            submit=_("Send"),
            status=status,
            extra={"fefo": True, "vaccines": vaccines, "suggest": request.GET},
        )

    def act() -> str:
        destination = form.cleaned_data["destination"]
        requisitions.transfer_dispatch(
            by=staff_user(request), source=store, destination=destination, lines=form.lines()
        )
        return _("The transfer to {store} is on its way.").format(store=destination.name)

    return _submit(request, form, page, act, _store_url(store))


def _transfer(request: HttpRequest, public_id: str) -> Transfer:
    transfer: Transfer = _found(queries.transfer_for_staff, request, public_id)
    return transfer


@require_http_methods(["GET", "POST"])
@staff_required
def transfer_receive(request: HttpRequest, public_id: str) -> HttpResponse:
    """Receive a transfer at its destination: per batch, doses in good order and damaged."""
    transfer = _transfer(request, public_id)
    store = _store(request, transfer.destination.public_id)
    if transfer.status != Transfer.Status.IN_TRANSIT:
        raise Http404
    data = request.POST if request.method == "POST" else None
    form = forms.ReceiveTransferForm(data, transfer=transfer)

    def page(form: forms.ReceiveTransferForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Receive the transfer from {store}").format(store=transfer.source.name),
            action=reverse("stock:transfer_receive", args=[transfer.public_id]),
            submit=_("Receive"),
            status=status,
            extra={"transfer": transfer},
        )

    def act() -> str:
        received, damaged = form.counts()
        done = requisitions.transfer_receive(
            by=staff_user(request), transfer=transfer, received=received, damaged=damaged
        )
        if done.status == Transfer.Status.DISCREPANCY:
            return _("The transfer is received, with doses missing or damaged.")
        return _("The transfer is received.")

    return _submit(request, form, page, act, _store_url(store))


# --- requisitions ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required
def requisition_new(request: HttpRequest, public_id: str) -> HttpResponse:
    """Ask the store that supplies this one for doses."""
    store = _store(request, public_id)
    if store.parent is None:
        raise Http404
    data = request.POST if request.method == "POST" else None
    form = forms.RequisitionForm(data, vaccines=_vaccines(store), initial_doses={})

    def page(form: forms.RequisitionForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Ask {store} for stock").format(store=store.parent),
            action=reverse("stock:requisition_new", args=[store.public_id]),
            submit=_("Send the requisition"),
            status=status,
        )

    def act() -> str:
        requisitions.requisition_create(
            by=staff_user(request),
            requester=store,
            lines=form.doses(keep_zero=False),
            note=form.cleaned_data["note"],
        )
        return _("The requisition is sent to {store}.").format(store=store.parent)

    return _submit(request, form, page, act, _store_url(store))


def _requisition(request: HttpRequest, public_id: str) -> tuple[Requisition, Store | None]:
    """Return the requisition, and its supplier if the user may decide it (else None)."""
    requisition: Requisition = _found(queries.requisition_for_staff, request, public_id)
    try:
        supplier = queries.store_for_staff(
            staff_user(request), requisition.supplier.public_id, STOCK_ROLES
        )
    except NotFound:
        supplier = None
    return requisition, supplier


def _requisition_page(
    request: HttpRequest,
    requisition: Requisition,
    supplier: Store | None,
    *,
    approve: forms.VaccineLinesForm | None = None,
    reject: forms.RejectForm | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    lines = list(requisition.lines.select_related("vaccine").order_by("vaccine__code"))
    if approve is None:
        approve = _approve_form(None, lines)
    suggestion = []
    if supplier is not None and requisition.status == Requisition.Status.APPROVED:
        today = timezone.localdate()
        for line in lines:
            if line.doses_approved:
                suggestion += queries.fefo_allocate(
                    supplier, line.vaccine, line.doses_approved, today
                )
    context = {
        "requisition": requisition,
        "lines": lines,
        "supplier": supplier,
        "approve": approve,
        "reject": reject or forms.RejectForm(),
        "suggestion": suggestion,
        "errors": errors or {},
    }
    return render(request, "stock/requisition.html", context, status=status)


def _approve_form(data: Any, lines: list[Any]) -> forms.VaccineLinesForm:
    return forms.VaccineLinesForm(
        data,
        vaccines=[line.vaccine for line in lines],
        initial_doses={line.vaccine_id: line.doses_requested for line in lines},
    )


@require_GET
@staff_required
def requisition_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show a requisition; on the supplier's side, approve, reject or dispatch it."""
    requisition, supplier = _requisition(request, public_id)
    return _requisition_page(request, requisition, supplier)


def _supplier(request: HttpRequest, public_id: str) -> tuple[Requisition, Store]:
    requisition, supplier = _requisition(request, public_id)
    if supplier is None:
        raise Http404
    return requisition, supplier


def _decided(request: HttpRequest, requisition: Requisition, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("stock:requisition", requisition.public_id)


@require_POST
@staff_required
def requisition_approve(request: HttpRequest, public_id: str) -> HttpResponse:
    """Approve a requisition in full or in part (the doses per vaccine given)."""
    requisition, supplier = _supplier(request, public_id)
    lines = list(requisition.lines.select_related("vaccine"))
    form = _approve_form(request.POST, lines)
    if not form.is_valid():
        return _requisition_page(request, requisition, supplier, approve=form, status=400)
    try:
        requisitions.requisition_approve(
            by=staff_user(request), requisition=requisition, approved=form.doses(keep_zero=True)
        )
    except DomainError as error:
        forms.show_refusal(form, error)
        return _requisition_page(request, requisition, supplier, approve=form, status=400)
    return _decided(request, requisition, _("The requisition is approved."))


@require_POST
@staff_required
def requisition_reject(request: HttpRequest, public_id: str) -> HttpResponse:
    """Refuse a requisition with a reason."""
    requisition, supplier = _supplier(request, public_id)
    form = forms.RejectForm(request.POST)
    if not form.is_valid():
        return _requisition_page(request, requisition, supplier, reject=form, status=400)
    try:
        requisitions.requisition_reject(
            by=staff_user(request), requisition=requisition, reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        forms.show_refusal(form, error)
        return _requisition_page(request, requisition, supplier, reject=form, status=400)
    return _decided(request, requisition, _("The requisition is refused."))


@require_POST
@staff_required
def requisition_dispatch(request: HttpRequest, public_id: str) -> HttpResponse:
    """Send an approved requisition, first to expire first."""
    requisition, supplier = _supplier(request, public_id)
    try:
        requisitions.requisition_dispatch(by=staff_user(request), requisition=requisition)
    except DomainError as error:
        errors = {"dispatch": str(error.message)}
        return _requisition_page(request, requisition, supplier, errors=errors, status=400)
    return _decided(request, requisition, _("The requisition is on its way."))


# --- adjustments ------------------------------------------------------------------------------


def _adjustments_page(
    request: HttpRequest, *, errors: dict[str, str] | None = None, status: int = 200
) -> HttpResponse:
    scope = queries.stores_in_scope(staff_user(request), ADMINS)
    if scope is None:
        raise Http404
    waiting = (
        PendingAdjustment.objects.filter(
            status=PendingAdjustment.Status.WAITING, store__in=Store.objects.filter(scope)
        )
        .select_related("store", "batch__vaccine", "counted_by")
        .order_by("counted_at")
    )
    context = {"adjustments": list(waiting), "errors": errors or {}}
    return render(request, "stock/adjustments.html", context, status=status)


@require_GET
@staff_required
def adjustments(request: HttpRequest) -> HttpResponse:
    """List the counts waiting for an administrator's decision in the user's region."""
    return _adjustments_page(request)


@require_POST
@staff_required
def adjustment_decide(request: HttpRequest, public_id: str) -> HttpResponse:
    """Approve or reject a waiting adjustment (not one's own count)."""
    pending: PendingAdjustment = _found(
        queries.adjustment_for_staff, request, public_id, roles=ADMINS
    )
    approve = request.POST.get("decision") == "approve"
    try:
        services.adjustment_decide(by=staff_user(request), pending=pending, approve=approve)
    except DomainError as error:
        return _adjustments_page(
            request, errors={pending.public_id: str(error.message)}, status=400
        )
    message = _("The adjustment is approved.") if approve else _("The adjustment is rejected.")
    messages.success(request, message)
    return redirect("stock:adjustments")
