"""Citizen accounts and beneficiaries, read-only: citizens change them through the services.

Only masked numbers are shown, never an ID hash or an OTP hash, and every look at a
person's record by staff is audited.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from vaxnet.core.admin_mixins import ReadOnlyAdmin, ReadOnlyInline
from vaxnet.core.audit import audit_record
from vaxnet.people.models import Account, Beneficiary, OtpChallenge, mask_phone


def _audit_view(request: HttpRequest, model: type[Model], object_id: str) -> None:
    audit_record(
        actor=request.user,  # type: ignore[arg-type]
        action="admin.view",
        object_type=model._meta.label_lower,
        object_id=str(object_id),
    )


_INLINE_FIELDS = ("reference", "name", "sex", "birth_year", "id_type", "masked_id", "created_at")
_ACCOUNT_FIELDS = ("masked_phone", "country", "language", "created_at", "last_sign_in_at", "active")
_BENEFICIARY_FIELDS = (
    "reference",
    "account",
    "name",
    "sex",
    "birth_year",
    "birth_date",
    "id_type",
    "masked_id",
    "created_at",
    "updated_at",
)
_OTP_FIELDS = (
    "public_id",
    "phone_masked",
    "language",
    "created_at",
    "expires_at",
    "attempts",
    "max_attempts",
    "verified_at",
    "client",
)


class BeneficiaryInline(ReadOnlyInline):
    model = Beneficiary
    fields = _INLINE_FIELDS
    readonly_fields = _INLINE_FIELDS

    @admin.display(description=_("ID number"))
    def masked_id(self, obj: Beneficiary) -> str:
        return obj.masked_id()


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    fields = _ACCOUNT_FIELDS
    list_display = _ACCOUNT_FIELDS
    list_filter = ["active", "country", "language"]
    readonly_fields = _ACCOUNT_FIELDS
    inlines = [BeneficiaryInline]

    @admin.display(description=_("mobile number"))
    def masked_phone(self, obj: Account) -> str:
        return obj.masked_phone()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        _audit_view(request, Account, object_id)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Beneficiary)
class BeneficiaryAdmin(ReadOnlyAdmin):
    list_display = ["reference", "name", "sex", "birth_year", "id_type", "masked_id", "created_at"]
    list_filter = ["sex", "id_type", "country"]
    # Exact reference only: no looking people up by name, phone or ID number here.
    search_fields = ["=reference"]
    list_select_related = ["id_type"]
    fields = _BENEFICIARY_FIELDS
    readonly_fields = _BENEFICIARY_FIELDS

    @admin.display(description=_("ID number"))
    def masked_id(self, obj: Beneficiary) -> str:
        return obj.masked_id()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        _audit_view(request, Beneficiary, object_id)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(OtpChallenge)
class OtpChallengeAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "phone_masked", "created_at", "attempts", "verified_at"]
    list_filter = ["country"]
    fields = _OTP_FIELDS
    readonly_fields = _OTP_FIELDS

    @admin.display(description=_("mobile number"))
    def phone_masked(self, obj: OtpChallenge) -> str:
        return mask_phone(obj.phone)
