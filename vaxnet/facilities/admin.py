"""Facility and staff administration; every save goes through the facility services."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vaxnet.core.errors import DomainError
from vaxnet.facilities import services
from vaxnet.facilities.models import Facility, FacilityFee, StaffMembership


class FacilityForm(forms.ModelForm):
    class Meta:
        model = Facility
        fields = [
            "code",
            "names",
            "kind",
            "region",
            "postal_code",
            "address",
            "latitude",
            "longitude",
            "opens_at",
            "closes_at",
            "phone",
            "active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        region = data.get("region")
        if region is None:
            return data
        try:
            services.facility_check(
                region=region,
                postal_code=data.get("postal_code") or "",
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                opens_at=data.get("opens_at"),
                closes_at=data.get("closes_at"),
            )
        except DomainError as exc:
            raise ValidationError({exc.field or "__all__": str(exc.message)}) from None
        return data


class FacilityFeeInline(admin.TabularInline):
    model = FacilityFee
    extra = 0
    fields = ["vaccine", "amount"]


@admin.register(Facility)
class FacilityAdmin(admin.ModelAdmin):
    form = FacilityForm
    list_display = ["code", "name", "kind", "region", "postal_code", "active"]
    list_filter = ["kind", "active", "country"]
    search_fields = ["code", "names", "postal_code"]
    list_select_related = ["region"]
    autocomplete_fields = ["region"]
    inlines = [FacilityFeeInline]

    def save_model(
        self, request: HttpRequest, obj: Facility, form: ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            current = Facility.objects.get(pk=obj.pk)
            services.facility_update(
                by=request.user,  # type: ignore[arg-type]
                facility=current,
                **{k: data[k] for k in form.changed_data if k not in ("code", "kind", "region")},
            )
            return
        created = services.facility_create(
            by=request.user,  # type: ignore[arg-type]
            **{k: data[k] for k in FacilityForm.Meta.fields if k != "active"},
        )
        obj.pk = created.pk
        obj.public_id = created.public_id

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        facility = Facility.objects.get(pk=form.instance.pk)
        # The admin's change message reads these; the services below do the writing.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for item in formset.cleaned_data:
            if item and item.get("DELETE") and item.get("id") is not None:
                services.facility_remove_fee(by=request.user, fee=item["id"])  # type: ignore[arg-type]
            elif item and item.get("vaccine") is not None:
                try:
                    services.facility_set_fee(
                        by=request.user,  # type: ignore[arg-type]
                        facility=facility,
                        vaccine=item["vaccine"],
                        amount=item["amount"],
                    )
                except DomainError as exc:
                    self.message_user(request, str(exc.message), level="error")


class StaffMembershipForm(forms.ModelForm):
    class Meta:
        model = StaffMembership
        fields = ["user", "role", "facility", "region"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    form = StaffMembershipForm
    list_display = ["user", "role", "facility", "region", "active", "created_at"]
    list_filter = ["role", "active"]
    search_fields = ["user__username", "facility__code", "region__code"]
    list_select_related = ["user", "facility", "region"]
    autocomplete_fields = ["facility", "region"]
    actions = ["revoke"]

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: StaffMembership, form: ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        try:
            created = services.staff_membership_grant(
                by=request.user,  # type: ignore[arg-type]
                user=data["user"],
                role=data["role"],
                facility=data.get("facility"),
                region=data.get("region"),
            )
        except DomainError as exc:
            self.message_user(request, str(exc.message), level="error")
            return
        obj.pk = created.pk

    @admin.action(description=_("Revoke the selected memberships"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[StaffMembership]) -> None:
        for membership in queryset.filter(active=True):
            services.staff_membership_revoke(by=request.user, membership=membership)  # type: ignore[arg-type]
