"""Pages of the facility day: today's sessions, the front desk (check-in, walk-ins), the queue.

Every session and appointment is reached through core.access with the roles of
vaccination.roles: what is missing or out of scope answers 404 alike. htmx requests get the
part of the page they replace; without JavaScript every form posts and the page comes back.
"""

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.queries import dose_histories
from vaxnet.booking.staff_views import staff_required
from vaxnet.core.access import (
    appointment_for_staff,
    facilities_in_scope,
    roles_at_facility,
    session_for_staff,
)
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, is_htmx, staff_user
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import SessionStock
from vaxnet.stock.sessions import session_accounts
from vaxnet.vaccination import forms, queries, roles, services
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccines.eligibility import Eligible, next_dose

FOUND_SHOWN = 50
QUEUE_SHOWN = 100
DONE_SHOWN = 20
_LIVE = (Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN)


def refuse_on(form: Form, error: DomainError) -> None:
    """Show a service's refusal on the form: beside the field it names, else above the form."""
    form.add_error(error.field if error.field in form.fields else None, str(error.message))


def _session(request: HttpRequest, public_id: str, allowed: tuple[str, ...]) -> Session:
    try:
        return session_for_staff(staff_user(request), public_id, roles=allowed)
    except NotFound:
        raise Http404 from None


def _appointment(
    request: HttpRequest, session: Session, public_id: str, allowed: tuple[str, ...]
) -> Appointment:
    try:
        appointment = appointment_for_staff(staff_user(request), public_id, roles=allowed)
    except NotFound:
        raise Http404 from None
    if appointment.session_id != session.pk:
        raise Http404
    return appointment


def links(request: HttpRequest, session: Session) -> dict[str, bool]:
    """Return which of the session's pages the user may open, for its navigation."""
    held = roles_at_facility(staff_user(request), session.facility)
    return {
        "can_check_in": bool(held & set(roles.CHECKERS)),
        "can_record": bool(held & set(roles.RECORDERS)),
        "can_close": bool(held & set(roles.CLOSERS)),
    }


@require_GET
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """List the staff member's facilities with today's sessions at each."""
    scope = facilities_in_scope(staff_user(request), roles.FACILITY_STAFF)
    today = timezone.localdate()
    facilities: list[Facility] = []
    if scope is not None:
        facilities = list(Facility.objects.filter(scope).filter(active=True).order_by("code")[:50])
    sessions = (
        Session.objects.filter(facility__in=facilities, date=today)
        .exclude(status=Session.Status.CANCELLED)
        .select_related("vaccine")
        .order_by("created_at")
    )
    by_facility: dict[int, list[Session]] = {}
    for session in sessions:
        by_facility.setdefault(session.facility_id, []).append(session)
    rows = [(facility, by_facility.get(facility.pk, [])) for facility in facilities]
    return render(request, "vaccination/home.html", {"rows": rows, "today": today})


def _found(session: Session, query: str) -> QuerySet[Appointment]:
    """Return the appointments waiting at the desk, or those a search finds."""
    if query:
        return queries.appointments_found(session, query)
    return (
        Appointment.objects.filter(session=session, status__in=_LIVE)
        .select_related("beneficiary__id_type", "beneficiary__account", "slot")
        .order_by("slot__starts_at", "beneficiary__name", "pk")
    )


def _onsite_left(session: Session) -> int:
    return sum(dose.available_onsite for dose in session.doses.all())


def _desk(
    request: HttpRequest,
    session: Session,
    *,
    query: str = "",
    check_forms: dict[int, forms.CheckInForm] | None = None,
    walk_in: forms.WalkInForm | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the front desk: the search, its results with check-in forms, the walk-in form."""
    found = list(_found(session, query)[:FOUND_SHOWN])
    check_forms = check_forms or {}
    rows = [
        (
            appointment,
            check_forms.get(appointment.pk)
            or forms.CheckInForm(
                prefix=appointment.public_id,
                online=appointment.channel == Appointment.Channel.ONLINE,
            ),
        )
        for appointment in found
    ]
    country = session.facility.country
    context: dict[str, Any] = {
        "session": session,
        "search": forms.SearchForm(initial={"q": query}),
        "query": query,
        "rows": rows,
        "walk_in": walk_in or forms.WalkInForm(country=country),
        "onsite_left": _onsite_left(session),
        "errors": errors or {},
        **links(request, session),
    }
    partial = is_htmx(request) and request.headers.get("HX-Target") == "found"
    template = "vaccination/_found.html" if partial else "vaccination/desk.html"
    return render(request, template, context, status=status)


@require_GET
@staff_required
def desk(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show the front desk of a session: find people, check them in, register walk-ins."""
    found = _session(request, public_id, roles.CHECKERS)
    search = forms.SearchForm(request.GET)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    return _desk(request, found, query=query)


@require_POST
@staff_required
def check_in(request: HttpRequest, public_id: str, appointment_id: str) -> HttpResponse:
    """Check a person in with their security code and the ID number from their document."""
    found = _session(request, public_id, roles.CHECKERS)
    appointment = _appointment(request, found, appointment_id, roles.CHECKERS)
    online = appointment.channel == Appointment.Channel.ONLINE
    form = forms.CheckInForm(request.POST, prefix=appointment.public_id, online=online)
    query = request.POST.get("q", "").strip()[: forms.SEARCH_LENGTH]
    if form.is_valid():
        try:
            services.appointment_check_in(
                by=staff_user(request),
                appointment=appointment,
                id_number=form.cleaned_data["id_number"],
                security_code=form.cleaned_data.get("security_code", ""),
            )
        except DomainError as error:
            refuse_on(form, error)
            return _checked(request, found, appointment, form, query, status=error.status)
        messages.success(
            request,
            _("{name} is checked in for dose {dose}.").format(
                name=appointment.beneficiary.name, dose=appointment.dose_number
            ),
        )
        return _checked(request, found, appointment, None, query)
    return _checked(request, found, appointment, form, query, status=422)


def _checked(
    request: HttpRequest,
    session: Session,
    appointment: Appointment,
    form: forms.CheckInForm | None,
    query: str,
    status: int = 200,
) -> HttpResponse:
    """Answer a check-in: htmx gets the person's row again, a plain post the whole desk."""
    if is_htmx(request):
        appointment.refresh_from_db(fields=["status", "checked_in_at"])
        online = appointment.channel == Appointment.Channel.ONLINE
        context = {
            "session": session,
            "appointment": appointment,
            "form": form or forms.CheckInForm(prefix=appointment.public_id, online=online),
            "query": query,
            "done": form is None,
        }
        return render(request, "vaccination/_person.html", context, status=status)
    if form is None:
        url = reverse("day:session", args=[session.public_id])
        return go(request, f"{url}?q={query}" if query else url)
    return _desk(request, session, query=query, check_forms={appointment.pk: form}, status=status)


@require_http_methods(["POST"])
@staff_required
def walk_in(request: HttpRequest, public_id: str) -> HttpResponse:
    """Register a person who came without a booking, and check them in."""
    found = _session(request, public_id, roles.CHECKERS)
    form = forms.WalkInForm(request.POST, country=found.facility.country)
    if form.is_valid():
        data = form.cleaned_data
        birth_date = data["birth_date"]
        person = services.Person(
            name=data["name"],
            sex=data["sex"],
            birth_year=birth_date.year if birth_date else data["birth_year"],
            birth_date=birth_date,
            id_type_code=data["id_type"],
            id_number=data["id_number"],
            phone=data["phone"],
            language=request.LANGUAGE_CODE,
        )
        try:
            appointment = services.walk_in_register(
                by=staff_user(request), session=found, person=person
            )
        except DomainError as error:
            refuse_on(form, error)
            return _walk_in_refused(request, found, form, error.status)
        messages.success(
            request,
            _("{name} is registered and checked in for dose {dose}.").format(
                name=appointment.beneficiary.name, dose=appointment.dose_number
            ),
        )
        return go(request, reverse("day:session", args=[found.public_id]))
    return _walk_in_refused(request, found, form, 422)


def _walk_in_refused(
    request: HttpRequest, session: Session, form: forms.WalkInForm, status: int
) -> HttpResponse:
    if is_htmx(request):
        context = {"session": session, "walk_in": form, "onsite_left": _onsite_left(session)}
        return render(request, "vaccination/_walk_in.html", context, status=status)
    return _desk(request, session, walk_in=form, status=status)


def batch_choices(
    accounts: list[SessionStock], today: Any
) -> tuple[list[tuple[str, str]], list[tuple[SessionStock, str]]]:
    """Split the session's batches into those a dose may come from and those it may not."""
    usable: list[tuple[str, str]] = []
    unusable: list[tuple[SessionStock, str]] = []
    for account in accounts:
        batch = account.batch
        if batch.is_recalled():
            unusable.append((account, _("recalled")))
        elif batch.is_expired(on=today):
            unusable.append((account, _("expired")))
        elif account.closed_at is None and account.doses_left <= 0:
            unusable.append((account, _("no doses left")))
        else:
            label = _("Lot {lot}: {left} doses left, expires {expiry}").format(
                lot=batch.lot_number, expiry=batch.expires_on.isoformat(), left=account.doses_left
            )
            usable.append((batch.public_id, label))
    return usable, unusable


def _queue(
    request: HttpRequest,
    session: Session,
    *,
    record_forms: dict[int, forms.RecordForm] | None = None,
    not_given_forms: dict[int, forms.NotGivenForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the vaccinator's queue: each person checked in with the record and not-given forms."""
    today = timezone.localdate()
    usable, unusable = batch_choices(session_accounts(session), today)
    waiting = list(
        Appointment.objects.filter(session=session, status=Appointment.Status.CHECKED_IN)
        .select_related("beneficiary__id_type", "beneficiary__country", "beneficiary__account")
        .order_by("checked_in_at", "pk")[:QUEUE_SHOWN]
    )
    record_forms = record_forms or {}
    not_given_forms = not_given_forms or {}
    histories = dose_histories([appointment.beneficiary for appointment in waiting])
    rule = session.vaccine_rule()
    due: dict[int, int | None] = {}
    for appointment in waiting:
        person = appointment.beneficiary
        result = next_dose(person.person(), histories[person.pk], rule, today)
        due[appointment.pk] = result.dose_number if isinstance(result, Eligible) else None
    rows = [
        {
            "appointment": appointment,
            "dose": due[appointment.pk],
            "record": record_forms.get(appointment.pk)
            or forms.RecordForm(prefix=f"r{appointment.public_id}", batches=usable),
            "not_given": not_given_forms.get(appointment.pk)
            or forms.NotGivenForm(prefix=f"n{appointment.public_id}"),
        }
        for appointment in waiting
    ]
    done = (
        Vaccination.objects.filter(session=session, status=Vaccination.Status.VALID)
        .select_related("beneficiary", "batch", "appointment")
        .order_by("-recorded_at", "-pk")[:DONE_SHOWN]
    )
    context = {
        "session": session,
        "rows": rows,
        "usable": usable,
        "unusable": unusable,
        "done": list(done),
        **links(request, session),
    }
    template = "vaccination/_queue.html" if is_htmx(request) else "vaccination/queue.html"
    return render(request, template, context, status=status)


@require_GET
@staff_required
def queue(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show the people checked in and waiting for their dose."""
    return _queue(request, _session(request, public_id, roles.RECORDERS))


@require_POST
@staff_required
def record(request: HttpRequest, public_id: str, appointment_id: str) -> HttpResponse:
    """Record the dose given to a person in the queue."""
    found = _session(request, public_id, roles.RECORDERS)
    appointment = _appointment(request, found, appointment_id, roles.RECORDERS)
    usable, _unusable = batch_choices(session_accounts(found), timezone.localdate())
    form = forms.RecordForm(request.POST, prefix=f"r{appointment.public_id}", batches=usable)
    status = 422
    if form.is_valid():
        batch = next(
            account.batch
            for account in session_accounts(found)
            if account.batch.public_id == form.cleaned_data["batch"]
        )
        try:
            vaccination = services.vaccination_record(
                by=staff_user(request),
                appointment=appointment,
                batch=batch,
                site=form.cleaned_data["site"],
            )
        except DomainError as error:
            refuse_on(form, error)
            status = error.status
        else:
            messages.success(
                request,
                _("{name}: dose {dose} recorded.").format(
                    name=appointment.beneficiary.name, dose=vaccination.dose_number
                ),
            )
            return _queue(request, found) if is_htmx(request) else go(request, _queue_url(found))
    return _queue(request, found, record_forms={appointment.pk: form}, status=status)


@require_POST
@staff_required
def not_given(request: HttpRequest, public_id: str, appointment_id: str) -> HttpResponse:
    """Record that a person in the queue did not have the dose, and why."""
    found = _session(request, public_id, roles.RECORDERS)
    appointment = _appointment(request, found, appointment_id, roles.RECORDERS)
    form = forms.NotGivenForm(request.POST, prefix=f"n{appointment.public_id}")
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.dose_not_given(
                by=staff_user(request),
                appointment=appointment,
                kind=data["kind"],
                reason=data["reason"],
                note=data["note"],
                until=data["until"],
            )
        except DomainError as error:
            refuse_on(form, error)
            status = error.status
        else:
            messages.success(
                request,
                _("{name}: dose not given, recorded.").format(name=appointment.beneficiary.name),
            )
            return _queue(request, found) if is_htmx(request) else go(request, _queue_url(found))
    return _queue(request, found, not_given_forms={appointment.pk: form}, status=status)


def _queue_url(session: Session) -> str:
    return reverse("day:queue", args=[session.public_id])
