"""Forms of the facility day's pages: they parse what staff type; the services judge it."""

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.countries.models import Country
from vaxnet.people.models import Sex
from vaxnet.vaccination.close import CloseLine
from vaxnet.vaccination.models import NotGiven, Site

SEARCH_LENGTH = 60


class SearchForm(forms.Form):
    """Find people in a session by reference number, last 4 digits of mobile, or name."""

    q = forms.CharField(
        label=_("Reference number, last 4 digits of the mobile, or name"),
        max_length=SEARCH_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class CheckInForm(forms.Form):
    """The security code from the person's slip and the ID number read from their document."""

    security_code = forms.CharField(
        label=_("Security code"),
        max_length=4,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]{4}"}
        ),
    )
    id_number = forms.CharField(
        label=_("ID number, typed from the document"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, online: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.online = online
        if online:
            self.fields["security_code"].required = True
        else:
            del self.fields["security_code"]


class WalkInForm(forms.Form):
    """Who a walk-in is, as the verifier reads it from their ID document."""

    name = forms.CharField(label=_("Name, as on the document"), max_length=100)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices)
    birth_year = forms.IntegerField(label=_("Year of birth"), min_value=1900)
    birth_date = forms.DateField(
        label=_("Date of birth (if known)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    id_type = forms.ChoiceField(label=_("ID document"))
    id_number = forms.CharField(
        label=_("ID number"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    phone = forms.CharField(
        label=_("Mobile number (optional)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, country: Country, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["id_type"])
        field.choices = [
            (id_type.code, id_type.name) for id_type in country.id_types.order_by("position")
        ]
        birth_year = cast(forms.IntegerField, self.fields["birth_year"])
        birth_year.max_value = timezone.localdate().year
        birth_year.widget.attrs["max"] = birth_year.max_value


class RecordForm(forms.Form):
    """The batch the dose came from and where it was given (the dose number is the engine's)."""

    batch = forms.ChoiceField(label=_("Batch"))
    site = forms.ChoiceField(label=_("Site of injection"), choices=Site.choices)

    def __init__(self, *args: Any, batches: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["batch"])
        field.choices = list(batches)
        if batches and "batch" not in self.initial:
            self.initial["batch"] = batches[0][0]


class NotGivenForm(forms.Form):
    """Why a checked-in person did not have the dose."""

    kind = forms.ChoiceField(label=_("What happened"), choices=NotGiven.Kind.choices)
    reason = forms.ChoiceField(label=_("Reason"), choices=NotGiven.Reason.choices)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    until = forms.DateField(
        label=_("Deferred until (if deferred)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class CloseForm(forms.Form):
    """The unopened vials returned per batch, defaulting to those the doses given did not need."""

    def __init__(self, *args: Any, lines: Sequence[CloseLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            label = _("Unopened vials of batch {lot} returned").format(lot=line.batch.lot_number)
            self.fields[self.key(line)] = forms.IntegerField(
                label=label,
                min_value=0,
                max_value=line.vials_out,
                initial=line.unopened,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    @staticmethod
    def key(line: CloseLine) -> str:
        """Return the field name of a batch's line."""
        return f"vials_{line.batch.public_id}"

    def rows(self) -> list[tuple[CloseLine, forms.BoundField]]:
        """Return each line with its bound field, for the table."""
        return [(line, self[self.key(line)]) for line in self.lines]
