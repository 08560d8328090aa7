"""Corrections of a vaccinated person's details: asked for by the citizen, decided by an admin.

Before the first dose a citizen changes a member's details themselves (people.services.
beneficiary_update); after it the details are on a signed certificate, so a change is a
request that an administrator decides. Approval changes the person, revokes their
certificates and issues new ones; either way the citizen gets an SMS. Every step is audited,
with the detail concerned but never an ID number (only its keyed hash is ever kept).

Who decides: district, state and national administrators, for the people vaccinated within
their region (a valid dose, or one of a merged duplicate's, at a facility there), since they
answer for the records made there and can ask the centre. National administrators decide
every request of their country, which also covers a person whose every dose was later
entered in error (no region is theirs any more). Superusers decide any request.
"""

import re
from datetime import date

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from vaxnet.certificates.models import Certificate, CorrectionRequest
from vaxnet.certificates.services import certificates_reissue
from vaxnet.core.access import correction_scope, valid_doses_of
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.countries.models import IdDocumentType
from vaxnet.dashboard.services import people_tallied
from vaxnet.people.crypto import id_number_hash
from vaxnet.people.models import Account, Beneficiary, Sex
from vaxnet.people.services import (
    id_holder,
    id_registered_refusal,
    id_type_of,
    person_details_clean,
)

REASON_MAX_LENGTH = 500
NOTE_MAX_LENGTH = 500
_YEAR = re.compile(r"[0-9]{4}")

Field = CorrectionRequest.Field
Status = CorrectionRequest.Status


def _citizen(account: Account) -> str:
    return f"account:{account.pk}"


def corrections_for_staff(
    user: User | AnonymousUser, status: str = Status.PENDING
) -> list[CorrectionRequest]:
    """Return the requests in the user's scope with a status, oldest first (at most 200)."""
    scope = correction_scope(user)
    if scope is None or status not in Status.values:
        return []
    found = (
        CorrectionRequest.objects.filter(scope, status=status)
        .select_related("beneficiary__id_type", "decided_by")
        .order_by("requested_at", "id")
    )
    return list(found[:200])


def corrections_of(account: Account) -> list[CorrectionRequest]:
    """Return the requests made for an account's members, latest first (at most 100)."""
    found = (
        CorrectionRequest.objects.filter(beneficiary__account=account)
        .select_related("beneficiary")
        .order_by("-requested_at", "-id")
    )
    return list(found[:100])


# --- Reading and checking the value asked for -----------------------------------------------


def _reason(raw: str) -> str:
    reason = " ".join(str(raw or "").split())
    if not reason:
        raise DomainError(
            "reason_required", _("Say why the detail is wrong."), field="reason", status=422
        )
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            "reason_too_long",
            _("A reason can have at most {count} characters.").format(count=REASON_MAX_LENGTH),
            field="reason",
            status=422,
        )
    return reason


def _birth(raw: str) -> tuple[int, date | None]:
    """Return the year and date of birth typed as YYYY-MM-DD (or a year alone), or refuse."""
    value = str(raw or "").strip()
    invalid = DomainError(
        "birth_date_invalid",
        _("Enter the date of birth as YYYY-MM-DD, or the year alone."),
        field="value",
    )
    if _YEAR.fullmatch(value):
        return int(value), None
    try:
        born = date.fromisoformat(value)
    except ValueError:
        raise invalid from None
    if len(value) != 10:
        raise invalid
    return born.year, born


def _birth_text(beneficiary: Beneficiary) -> str:
    if beneficiary.birth_date is not None:
        return beneficiary.birth_date.isoformat()
    return f"{beneficiary.birth_year:04d}"


def _unchanged() -> DomainError:
    return DomainError(
        "correction_unchanged", _("This is what the record already says."), field="value"
    )


class _Asked:
    """What a request asks for: the text shown, and for an ID document its type and hash."""

    def __init__(self, current: str, requested: str, id_type: str = "", id_hash: str = ""):
        self.current = current
        self.requested = requested
        self.id_type = id_type
        self.id_hash = id_hash


def _asked(beneficiary: Beneficiary, field: str, value: str, id_type: str | None) -> _Asked:
    """Check the new value as registration would, and return what the request keeps."""
    if field == Field.NAME:
        name = person_details_clean(
            name=value,
            sex=beneficiary.sex,
            birth_year=beneficiary.birth_year,
            birth_date=beneficiary.birth_date,
        )
        if name == beneficiary.name:
            raise _unchanged()
        return _Asked(beneficiary.name, name)
    if field == Field.BIRTH_DATE:
        year, born = _birth(value)
        person_details_clean(
            name=beneficiary.name, sex=beneficiary.sex, birth_year=year, birth_date=born
        )
        if (year, born) == (beneficiary.birth_year, beneficiary.birth_date):
            raise _unchanged()
        return _Asked(_birth_text(beneficiary), born.isoformat() if born else f"{year:04d}")
    if field == Field.SEX:
        sex = str(value or "").strip()
        if sex not in Sex.values:
            raise DomainError("sex_invalid", _("Choose male, female or other."), field="value")
        if sex == beneficiary.sex:
            raise _unchanged()
        return _Asked(beneficiary.sex, sex)
    if field == Field.ID_DOCUMENT:
        document: IdDocumentType = id_type_of(
            beneficiary.country, id_type or beneficiary.id_type.code
        )
        # The number lives only in this frame: the request keeps its keyed hash and last 4.
        number = document.validate(str(value or ""))
        id_hash = id_number_hash(
            country_code=beneficiary.country.code, id_type_code=document.code, number=number
        )
        if document.pk == beneficiary.id_type_id and id_hash == beneficiary.id_hash:
            raise _unchanged()
        holder = id_holder(beneficiary.country, document, id_hash, exclude=beneficiary.pk)
        if holder is not None:
            raise id_registered_refusal(holder, beneficiary.account)
        return _Asked(beneficiary.masked_id(), f"XXXX XXXX {number[-4:]}", document.code, id_hash)
    raise DomainError(
        "correction_field", _("Choose the detail to correct."), field="field", status=422
    )


# --- Services ---------------------------------------------------------------------------------


def correction_request(
    *,
    account: Account,
    beneficiary: Beneficiary,
    field: str,
    value: str,
    reason: str,
    id_type: str | None = None,
) -> CorrectionRequest:
    """Ask for a correction of one detail of a vaccinated member of the account."""
    if not account.active or beneficiary.account_id != account.pk:
        raise NotFound()
    if beneficiary.merged_into_id is not None:
        raise DomainError(
            "correction_merged",
            _("This registration was merged into another: ask there for the correction."),
        )
    vaccinated = Beneficiary.objects.filter(pk=beneficiary.pk).filter(
        valid_doses_of(beneficiary.pk)
    )
    if not vaccinated.exists():
        raise DomainError(
            "correction_not_needed",
            _("Until the first dose you can change these details yourself, on the account page."),
        )
    asked = _asked(beneficiary, str(field), value, id_type)
    reason = _reason(reason)
    request = CorrectionRequest(
        beneficiary=beneficiary,
        field=field,
        current_value=asked.current,
        requested_value=asked.requested,
        requested_id_type=asked.id_type,
        requested_id_hash=asked.id_hash,
        reason=reason,
        requested_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            # The partial unique index decides between two requests sent at once.
            request.save(force_insert=True)
            audit_record(
                actor=None,
                actor_label=_citizen(account),
                action="correction.request",
                obj=request,
                data={"reference": beneficiary.reference, "field": request.field},
            )
    except IntegrityError:
        pending = CorrectionRequest.objects.filter(
            beneficiary=beneficiary, field=field, status=Status.PENDING
        )
        if not pending.exists():
            raise
        raise DomainError(
            "correction_pending",
            _("A correction of this detail is already waiting for a decision."),
            status=409,
        ) from None
    return request


def _decided() -> DomainError:
    return DomainError(
        "correction_decided", _("This request has already been decided or withdrawn."), status=409
    )


def correction_withdraw(*, account: Account, request: CorrectionRequest) -> CorrectionRequest:
    """Withdraw a request of the account that is still waiting for a decision."""
    if request.beneficiary.account_id != account.pk:
        raise NotFound()
    now = timezone.now()
    with transaction.atomic():
        # Conditional: a decision taken meanwhile wins, and the withdrawal is refused.
        done = CorrectionRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
            status=Status.WITHDRAWN, decided_at=now
        )
        if not done:
            raise _decided()
        audit_record(
            actor=None,
            actor_label=_citizen(account),
            action="correction.withdraw",
            obj=request,
            data={"reference": request.beneficiary.reference, "field": request.field},
        )
    request.refresh_from_db()
    return request


def _apply(request: CorrectionRequest) -> Beneficiary:
    """Change the person as the request asks; refuse an ID document registered meanwhile."""
    person = (
        # Only the person's row: PostgreSQL cannot lock the nullable side of the account join.
        Beneficiary.objects.select_for_update(of=("self",))
        .select_related("country", "id_type", "account")
        .get(pk=request.beneficiary_id)
    )
    value = request.requested_value
    changed: list[str]
    if request.field == Field.NAME:
        person.name = value
        changed = ["name"]
    elif request.field == Field.BIRTH_DATE:
        year, born = _birth(value)
        person.birth_year, person.birth_date = year, born
        changed = ["birth_year", "birth_date"]
    elif request.field == Field.SEX:
        person.sex = value
        changed = ["sex"]
    else:
        document = id_type_of(person.country, request.requested_id_type)
        holder = id_holder(person.country, document, request.requested_id_hash, exclude=person.pk)
        if holder is not None:
            raise id_registered_refusal(holder, person.account)
        person.id_type = document
        person.id_hash = request.requested_id_hash
        person.id_last4 = value[-4:]
        changed = ["id_type", "id_hash", "id_last4"]
    try:
        with transaction.atomic():
            person.save(update_fields=[*changed, "updated_at"])
    except IntegrityError:
        # The same document registered by someone else between the check and the save.
        raise DomainError(
            "id_taken",
            _("This ID document is already registered. If it is yours, contact the helpline."),
            field="id_number",
        ) from None
    return person


def _notify(request: CorrectionRequest, person: Beneficiary, approved: bool) -> None:
    """Queue the SMS that tells the account holder of the decision, in their language."""
    account = person.account
    if account is None:
        return
    with translation.override(account.language):
        detail = str(Field(request.field).label).lower()
    from vaxnet.notifications.services import message_enqueue

    template = "correction_approved" if approved else "correction_rejected"
    message_enqueue(
        to=account.phone,
        language=account.language,
        template=template,
        context={"name": person.name, "detail": detail},
        dedupe_key=f"{template}:{request.public_id}",
    )


def correction_decide(
    *, by: User, request: CorrectionRequest, approve: bool, note: str
) -> CorrectionRequest:
    """Approve or reject a pending request; approval corrects the person and re-issues.

    Two admins deciding at once: one conditional UPDATE on the status lets exactly one win.
    """
    note = " ".join(str(note or "").split())
    if len(note) > NOTE_MAX_LENGTH:
        raise DomainError(
            "note_too_long",
            _("A note can have at most {count} characters.").format(count=NOTE_MAX_LENGTH),
            field="note",
            status=422,
        )
    if not approve and not note:
        raise DomainError(
            "note_required",
            _("Say why the request is rejected: the citizen sees it."),
            field="note",
            status=422,
        )
    now = timezone.now()
    status = Status.APPROVED if approve else Status.REJECTED
    with transaction.atomic():
        won = CorrectionRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
            status=status, decided_at=now, decided_by=by, decision_note=note
        )
        if not won:
            raise _decided()
        if approve:
            person = _apply(request)
            certificates_reissue(
                beneficiary_id=person.pk, revoked_for=Certificate.RevokedFor.CORRECTION, actor=by
            )
            people_tallied([person.pk])  # a new birth date or sex moves their doses' counts
        else:
            person = Beneficiary.objects.select_related("account").get(pk=request.beneficiary_id)
        audit_record(
            actor=by,
            action="correction.approve" if approve else "correction.reject",
            obj=request,
            data={"reference": person.reference, "field": request.field},
        )
        _notify(request, person, approve)
    request.refresh_from_db()
    return request
