"""Cold-chain pages of a store: its equipment, the data logger key shown once, readings by hand,
and excursions acknowledged. The store is reached through its access chokepoint (views._store).
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxnet.booking.staff_views import staff_required
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, staff_user
from vaxnet.stock import coldchain, forms
from vaxnet.stock.models import Equipment, Excursion, Store
from vaxnet.stock.views import (
    LOGGER_KEYS,
    _form_page,
    _store,
    _store_page,
    _store_url,
    _submit,
)


@require_http_methods(["GET", "POST"])
@staff_required
def equipment_new(request: HttpRequest, public_id: str) -> HttpResponse:
    """Add cold-chain equipment; its data logger key is shown once, on the next page."""
    store = _store(request, public_id)
    form = forms.EquipmentForm(request.POST if request.method == "POST" else None)

    def page(form: forms.EquipmentForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Add cold-chain equipment"),
            action=reverse("stock:equipment_new", args=[store.public_id]),
            submit=_("Add"),
            status=status,
        )

    added: list[Equipment] = []

    def act() -> str:
        equipment, key = coldchain.equipment_add(
            store=store, by=staff_user(request), **form.cleaned_data
        )
        request.session[LOGGER_KEYS] = {
            **request.session.get(LOGGER_KEYS, {}),
            equipment.public_id: key,
        }
        added.append(equipment)
        return _("{label} is added.").format(label=equipment.label)

    response = _submit(request, form, page, act, _store_url(store))
    if added:
        response = go(
            request, reverse("stock:equipment_key", args=[store.public_id, added[0].public_id])
        )
    return response


def _equipment(store: Store, public_id: str) -> Equipment:
    equipment = store.equipment.filter(public_id=public_id.strip()[:16], active=True).first()
    if equipment is None:
        raise Http404
    return equipment


@require_GET
@staff_required
def equipment_key(request: HttpRequest, public_id: str, equipment_id: str) -> HttpResponse:
    """Show a new data logger key once; afterwards say it cannot be shown again."""
    store = _store(request, public_id)
    equipment = _equipment(store, equipment_id)
    keys = dict(request.session.get(LOGGER_KEYS, {}))
    key = keys.pop(equipment.public_id, None)
    request.session[LOGGER_KEYS] = keys
    response = render(
        request, "stock/equipment_key.html", {"store": store, "equipment": equipment, "key": key}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@staff_required
def reading_new(request: HttpRequest, public_id: str, equipment_id: str) -> HttpResponse:
    """Record a temperature read by hand."""
    store = _store(request, public_id)
    equipment = _equipment(store, equipment_id)
    initial = {"at": timezone.localtime().replace(second=0, microsecond=0)}
    form = forms.ReadingForm(request.POST if request.method == "POST" else None, initial=initial)

    def page(form: forms.ReadingForm, status: int = 200) -> HttpResponse:
        return _form_page(
            request,
            store=store,
            form=form,
            title=_("Record a reading of {label}").format(label=equipment.label),
            action=reverse("stock:reading_new", args=[store.public_id, equipment.public_id]),
            submit=_("Record the reading"),
            status=status,
        )

    def act() -> str:
        coldchain.reading_record(equipment=equipment, by=staff_user(request), **form.cleaned_data)
        return _("The reading is recorded.")

    return _submit(request, form, page, act, _store_url(store))


@require_POST
@staff_required
def excursion_acknowledge(request: HttpRequest, public_id: str, excursion_id: str) -> HttpResponse:
    """Record that the signed-in staff member has seen an excursion and is acting on it."""
    store = _store(request, public_id)
    excursion = Excursion.objects.filter(
        equipment__store=store, public_id=excursion_id.strip()[:16]
    ).first()
    if excursion is None:
        raise Http404
    try:
        coldchain.excursion_acknowledge(excursion=excursion, by=staff_user(request))
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        return _store_page(
            request, store, errors={excursion.public_id: str(error.message)}, status=400
        )
    messages.success(request, _("The excursion is acknowledged."))
    return redirect(_store_url(store))
