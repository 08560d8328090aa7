"""Pages that close a transfer's discrepancy and recall a batch everywhere.

The transfer and the store are reached through their access chokepoints (queries.py); a recall
needs a state or national administrator over the store the link was followed from.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vaxnet.booking.staff_views import staff_required
from vaxnet.core.errors import NotFound
from vaxnet.core.pages import staff_user
from vaxnet.stock import forms, queries, requisitions, services
from vaxnet.stock.models import Batch, Store, Transfer
from vaxnet.stock.views import (
    _form_page,
    _found,
    _store_url,
    _submit,
)


def _transfer_store(request: HttpRequest, transfer: Transfer) -> Store:
    """Return the end of the transfer the user may act on, its destination first."""
    for end in (transfer.destination, transfer.source):
        try:
            return queries.store_for_staff(staff_user(request), end.public_id)
        except NotFound:
            continue
    raise Http404


@require_http_methods(["GET", "POST"])
@staff_required
def transfer_resolve(request: HttpRequest, public_id: str) -> HttpResponse:
    """Close a transfer's discrepancy with a note of what was found or done."""
    transfer: Transfer = _found(queries.transfer_for_staff, request, public_id)
    store = _transfer_store(request, transfer)
    form = forms.ResolveForm(request.POST if request.method == "POST" else None)

    def page(form: forms.ResolveForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_(
                "Resolve the discrepancy of the transfer from {source} to {destination}"
            ).format(source=transfer.source.name, destination=transfer.destination.name),
            action=reverse("stock:transfer_resolve", args=[transfer.public_id]),
            submit=_("Resolve"),
            status=status,
        )

    def act() -> str:
        requisitions.transfer_resolve(
            by=staff_user(request), transfer=transfer, resolution=form.cleaned_data["resolution"]
        )
        return _("The transfer's discrepancy is resolved.")

    return _submit(request, form, page, act, _store_url(store))


@require_http_methods(["GET", "POST"])
@staff_required
def batch_recall(request: HttpRequest, public_id: str, batch_id: str) -> HttpResponse:
    """Recall a batch held by the store, in every store, with a reason."""
    store: Store = _found(queries.store_for_staff, request, public_id, roles=queries.RECALLERS)
    batch = (
        Batch.objects.filter(public_id=batch_id.strip()[:16], balances__store=store)
        .select_related("vaccine")
        .first()
    )
    if batch is None:
        raise Http404
    form = forms.RecallForm(request.POST if request.method == "POST" else None)

    def page(form: forms.RecallForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Recall {vaccine} lot {lot} in every store").format(
                vaccine=batch.vaccine.code, lot=batch.lot_number
            ),
            action=reverse("stock:batch_recall", args=[store.public_id, batch.public_id]),
            submit=_("Recall the batch"),
            status=status,
        )

    def act() -> str:
        services.batch_recall(
            by=staff_user(request), batch=batch, reason=form.cleaned_data["reason"]
        )
        return _("Lot {lot} is recalled in every store.").format(lot=batch.lot_number)

    return _submit(request, form, page, act, _store_url(store))
