"""The stock pages' forms: they check the shape of what was typed; the services judge the rest.

A service's refusal is put beside the field it names (`show_refusal`), or above the form.
"""

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from vaxnet.core.errors import DomainError
from vaxnet.stock.models import Batch, Equipment, StockMove, Transfer, TransferLine
from vaxnet.stock.services import WASTAGE_REASONS
from vaxnet.vaccines.models import Vaccine

MAX_DOSES = 10_000_000
_TEXT = 300


def show_refusal(form: forms.Form, error: DomainError) -> None:
    """Put a service's refusal beside the field it names, or above the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, str(error.message))


def _doses(label: Any, *, required: bool = True, initial: int | None = None) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=0, max_value=MAX_DOSES, required=required, initial=initial
    )


class BatchChoiceField(forms.ModelChoiceField):
    """A batch, shown by vaccine, lot and expiry, chosen by its public id."""

    def label_from_instance(self, obj: Batch) -> str:
        return str(
            _("{vaccine} lot {lot}, expires {expiry}").format(
                vaccine=obj.vaccine.code, lot=obj.lot_number, expiry=obj.expires_on.isoformat()
            )
        )


def _batch_field(batches: Any, label: Any, *, required: bool = True) -> BatchChoiceField:
    return BatchChoiceField(
        queryset=batches.select_related("vaccine"),
        to_field_name="public_id",
        label=label,
        required=required,
        empty_label=_("Choose a batch"),
    )


class ReceiveForm(forms.Form):
    """Stock received from a supplier: a registered batch, or a new one registered now."""

    batch = forms.Field()  # replaced in __init__
    vaccine = forms.ModelChoiceField(
        queryset=Vaccine.objects.none(),
        to_field_name="code",
        label=_("Vaccine of the new batch"),
        required=False,
    )
    lot_number = forms.CharField(label=_("Lot number"), max_length=40, required=False)
    manufacturer = forms.CharField(label=_("Manufacturer"), max_length=120, required=False)
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    doses_per_vial = forms.IntegerField(
        label=_("Doses per vial"),
        min_value=1,
        max_value=100,
        required=False,
        help_text=_("Leave empty for the vaccine's usual vial."),
    )
    doses = _doses(_("Doses received"))
    supplier = forms.CharField(label=_("Supplier"), max_length=_TEXT)

    def __init__(self, *args: Any, batches: Any, vaccines: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batch"] = _batch_field(batches, _("Batch already registered"), required=False)
        self.fields["batch"].help_text = _("Or leave it empty and register a new batch below.")
        cast(forms.ModelChoiceField, self.fields["vaccine"]).queryset = vaccines

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("batch") is None and "batch" not in self.errors:
            if data.get("vaccine") is None:
                self.add_error(
                    "vaccine", _("Choose a registered batch, or the new batch's vaccine.")
                )
            if not data.get("lot_number"):
                self.add_error("lot_number", _("Give the new batch's lot number."))
            if data.get("expires_on") is None:
                self.add_error("expires_on", _("Give the new batch's expiry date."))
        return data


class WasteForm(forms.Form):
    """Doses of a batch written off, and why."""

    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Choose a reason"))]
        + [(value, label) for value, label in StockMove.Reason.choices if value in WASTAGE_REASONS],
    )
    doses = _doses(_("Doses wasted"))
    note = forms.CharField(label=_("Note"), max_length=_TEXT, required=False)

    def __init__(self, *args: Any, batches: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"batch": _batch_field(batches, _("Batch")), **self.fields}


class CountForm(forms.Form):
    """A physical count of a batch, and why it differs from the books."""

    counted_doses = _doses(_("Doses counted"))
    reason = forms.CharField(
        label=_("Why the count differs"),
        max_length=_TEXT,
        help_text=_("A large difference waits for a district administrator's approval."),
    )

    def __init__(self, *args: Any, batches: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {"batch": _batch_field(batches, _("Batch")), **self.fields}


def _line_field(batch: Batch, held: int, initial: int | None) -> forms.IntegerField:
    field = _doses(
        _("Doses of {vaccine} lot {lot} to send").format(
            vaccine=batch.vaccine.code, lot=batch.lot_number
        ),
        required=False,
        initial=initial,
    )
    field.help_text = _("Held: {doses} doses, vials of {size}; expires {expiry}.").format(
        doses=held, size=batch.doses_per_vial, expiry=batch.expires_on.isoformat()
    )
    return field


class DispatchForm(forms.Form):
    """A transfer to a store this one supplies: doses per batch, first to expire offered first."""

    def __init__(
        self,
        *args: Any,
        destinations: Any,
        stock: Iterable[tuple[Batch, int]],
        suggested: dict[int, int],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["destination"] = forms.ModelChoiceField(
            queryset=destinations,
            to_field_name="public_id",
            label=_("Send to"),
            empty_label=_("Choose a store"),
        )
        self.stock = list(stock)
        for batch, held in self.stock:
            self.fields[f"line_{batch.public_id}"] = _line_field(
                batch, held, suggested.get(batch.pk)
            )

    def lines(self) -> dict[Batch, int]:
        """Return the doses to send per batch (the cleaned form's non-empty lines)."""
        chosen = {}
        for batch, _held in self.stock:
            doses = self.cleaned_data.get(f"line_{batch.public_id}")
            if doses:
                chosen[batch] = doses
        return chosen


class ReceiveTransferForm(forms.Form):
    """What arrived of a transfer, per batch: in good order and damaged (the rest is missing)."""

    def __init__(self, *args: Any, transfer: Transfer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transfer_lines: list[TransferLine] = list(
            transfer.lines.select_related("batch__vaccine").order_by("batch__expires_on")
        )
        for line in self.transfer_lines:
            name = f"{line.batch.vaccine.code} {line.batch.lot_number}"
            self.fields[f"received_{line.batch.public_id}"] = _doses(
                _("{batch}: doses received in good order").format(batch=name),
                initial=line.doses_sent,
            )
            self.fields[f"damaged_{line.batch.public_id}"] = _doses(
                _("{batch}: doses damaged").format(batch=name), initial=0
            )

    def counts(self) -> tuple[dict[Batch, int], dict[Batch, int]]:
        """Return the doses received and damaged per batch."""
        received = {}
        damaged = {}
        for line in self.transfer_lines:
            received[line.batch] = self.cleaned_data[f"received_{line.batch.public_id}"]
            damaged[line.batch] = self.cleaned_data[f"damaged_{line.batch.public_id}"]
        return received, damaged


class VaccineLinesForm(forms.Form):
    """Doses per vaccine: asked for (a requisition) or approved (a decision)."""

    def __init__(
        self, *args: Any, vaccines: Iterable[Vaccine], initial_doses: dict[int, int], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.vaccines = list(vaccines)
        for vaccine in self.vaccines:
            self.fields[f"vaccine_{vaccine.code}"] = _doses(
                _("Doses of {vaccine}").format(vaccine=vaccine.display_name),
                required=False,
                initial=initial_doses.get(vaccine.pk),
            )

    def doses(self, *, keep_zero: bool) -> dict[Vaccine, int]:
        """Return the doses per vaccine (a vaccine left empty, or at zero unless kept: none)."""
        chosen = {}
        for vaccine in self.vaccines:
            doses = self.cleaned_data.get(f"vaccine_{vaccine.code}")
            if doses or (keep_zero and doses is not None):
                chosen[vaccine] = doses
        return chosen


class RequisitionForm(VaccineLinesForm):
    """A requisition to the store that supplies this one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"] = forms.CharField(label=_("Note"), max_length=_TEXT, required=False)


class RejectForm(forms.Form):
    """Why a requisition is refused."""

    reason = forms.CharField(label=_("Why is the requisition refused?"), max_length=_TEXT)


class EquipmentForm(forms.Form):
    """A piece of cold-chain equipment added to the store."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Choose a kind")), *Equipment.Kind.choices]
    )
    label = forms.CharField(
        label=_("Label"), max_length=100, help_text=_("As written on the equipment.")
    )
    make = forms.CharField(label=_("Make"), max_length=100, required=False)
    model = forms.CharField(label=_("Model"), max_length=100, required=False)


class ReadingForm(forms.Form):
    """A temperature read by hand."""

    at = forms.DateTimeField(
        label=_("Read at"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    celsius = forms.DecimalField(
        label=_("Temperature (°C)"), max_digits=5, decimal_places=2, min_value=-80, max_value=60
    )


class ResolveForm(forms.Form):
    """How a transfer's discrepancy was resolved."""

    # Not required here: the service says why a note is needed, beside this field.
    resolution = forms.CharField(
        label=_("How was the discrepancy resolved?"),
        max_length=_TEXT,
        required=False,
        help_text=_("Say what was found or done about the missing or damaged doses."),
    )


class RecallForm(forms.Form):
    """Why a batch is recalled everywhere."""

    # Not required here: the service says why a reason is needed, beside this field.
    reason = forms.CharField(
        label=_("Why is the batch recalled?"),
        max_length=_TEXT,
        required=False,
        help_text=_("The recall applies in every store: the batch can then only be written off."),
    )
