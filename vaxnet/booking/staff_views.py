"""Staff pages for planning sessions: a planner's facilities, their sessions, plan, change, cancel.

Facility managers plan at their facility, district, state and national administrators at
every facility of their region; for anyone else a facility answers 404, as a missing one does.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import LogoutView, redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from vaxnet.booking import planning, staff_forms
from vaxnet.booking.models import Appointment, Session
from vaxnet.core import staff_auth_views
from vaxnet.core.access import active_memberships, facilities_in_scope, facility_for_staff
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, is_htmx, refusal, staff_user
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.facilities.models import Facility, Role
from vaxnet.vaccines.models import Vaccine

# The roles that plan sessions; verifiers, vaccinators and store keepers do not.
PLANNERS = (Role.FACILITY_MANAGER, Role.DISTRICT_ADMIN, Role.STATE_ADMIN, Role.NATIONAL_ADMIN)
SIGN_IN = "staff:sign_in"
FACILITIES_PER_PAGE = 20
PAST_PER_PAGE = 20
UPCOMING_SHOWN = 200
_SEARCH_LENGTH = 60
_REASON_LENGTH = 500


# Password, lock-out and the TOTP second factor: vaxnet.core.staff_auth_views.
sign_in = staff_auth_views.sign_in
sign_out = LogoutView.as_view(next_page=reverse_lazy(SIGN_IN))


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Call the view for a signed-in user who owes no second factor, else send them to it."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            response = redirect_to_login(request.get_full_path(), login_url=SIGN_IN)
            if is_htmx(request):
                # htmx would swap the sign-in page into a fragment: make it a full navigation.
                return HttpResponseClientRedirect(response["Location"])
            return response
        # An administrator who must use TOTP goes to set it up (or sign in with it) first.
        gate = staff_auth_views.staff_gate(request)
        if gate is not None:
            return gate
        return view(request, *args, **kwargs)

    return wrapper


def _country() -> Country:
    country = active_country()
    if country is None:
        raise Http404
    return country


def _facility_or_404(request: HttpRequest, code: str) -> Facility:
    """Return the facility with this code if the user may plan there, else 404."""
    country = _country()
    code = code.strip()[:40]
    public_id = (
        Facility.objects.filter(country=country, code=code)
        .values_list("public_id", flat=True)
        .first()
    )
    if public_id is None:
        raise Http404
    try:
        return facility_for_staff(staff_user(request), public_id, roles=PLANNERS)
    except NotFound:
        raise Http404 from None


def _session_or_404(facility: Facility, public_id: str) -> Session:
    session = (
        Session.objects.filter(facility=facility, public_id=public_id.strip()[:16])
        .select_related("vaccine", "facility__country")
        .prefetch_related("doses", "slots")
        .first()
    )
    if session is None:
        raise Http404
    session.facility = facility
    return session


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _name_filter(country: Country, search: str) -> Q:
    condition = Q(code__icontains=search)
    for language in country.languages or ["en"]:
        condition |= Q(**{f"names__{language}__icontains": search})
    return condition


@require_GET
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """List the facilities where the signed-in staff member plans sessions."""
    country = _country()
    user = staff_user(request)
    scope = facilities_in_scope(user, PLANNERS)
    context: dict[str, Any] = {"search": "", "page": None}
    if scope is None:
        context["memberships"] = active_memberships(user)
        return render(request, "staff/home.html", context)
    search = request.GET.get("q", "").strip()[:_SEARCH_LENGTH]
    facilities: QuerySet[Facility] = (
        Facility.objects.filter(scope).filter(country=country).select_related("region")
    )
    if search:
        facilities = facilities.filter(_name_filter(country, search))
    page = Paginator(facilities.order_by("code"), FACILITIES_PER_PAGE).get_page(
        _page_number(request.GET.get("page"))
    )
    context |= {
        "search": search,
        "page": page,
        "page_query": urlencode({"q": search} if search else {}),
    }
    template = "staff/_facilities.html" if is_htmx(request) else "staff/home.html"
    return render(request, template, context)


@require_GET
@staff_required
def sessions(request: HttpRequest, code: str) -> HttpResponse:
    """List a facility's coming and past sessions, with their bookings against capacity."""
    facility = _facility_or_404(request, code)
    today = timezone.localdate()
    base = (
        Session.objects.filter(facility=facility)
        .select_related("vaccine")
        .prefetch_related("doses")
    )
    upcoming = list(base.filter(date__gte=today).order_by("date", "created_at")[:UPCOMING_SHOWN])
    past = Paginator(base.filter(date__lt=today).order_by("-date", "-created_at"), PAST_PER_PAGE)
    return render(
        request,
        "staff/sessions.html",
        {
            "facility": facility,
            "upcoming": upcoming,
            "past": past.get_page(_page_number(request.GET.get("page"))),
            "today": today,
            "now": timezone.now(),
        },
    )


def _vaccines(country: Country) -> list[Vaccine]:
    return list(country.vaccines.filter(active=True).prefetch_related("doses").order_by("code"))


def _form_page(
    request: HttpRequest,
    facility: Facility,
    form: staff_forms.PlanForm,
    vaccines: list[Vaccine],
    session: Session | None = None,
    status: int = 200,
) -> HttpResponse:
    prefetch_related_objects([facility], "fees")
    fees = [(vaccine, fee) for vaccine in vaccines if (fee := facility.fee_for(vaccine))]
    context = {
        "facility": facility,
        "session": session,
        "form": form,
        "values": form.values,
        "errors": form.errors,
        "vaccines": vaccines,
        "fees": fees,
        "booked": session is not None
        and any(row.booked_online or row.booked_onsite for row in form.doses),
    }
    template = "staff/_session_form.html" if is_htmx(request) else "staff/session_form.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@staff_required
def session_new(request: HttpRequest, code: str) -> HttpResponse:
    """Plan a new session at a facility."""
    facility = _facility_or_404(request, code)
    country = facility.country
    numbers = staff_forms.dose_numbers(country)
    vaccines = _vaccines(country)
    if request.method == "GET":
        return _form_page(
            request, facility, staff_forms.initial(facility, numbers, vaccines), vaccines
        )
    form = staff_forms.read(request.POST, numbers=numbers, vaccines=vaccines)
    if form.errors:
        return _form_page(request, facility, form, vaccines, status=400)
    try:
        session = planning.session_create(by=staff_user(request), facility=facility, **form.plan)
    except DomainError as error:
        form.errors = refusal(error)
        return _form_page(request, facility, form, vaccines, status=error.status)
    messages.success(
        request,
        _("The session on {date} is planned.").format(date=_day(session)),
    )
    return go(request, reverse("staff:sessions", args=[facility.code]))


def _day(session: Session) -> str:
    return date_format(session.date, "DATE_FORMAT")


@require_http_methods(["GET", "POST"])
@staff_required
def session_edit(request: HttpRequest, code: str, public_id: str) -> HttpResponse:
    """Change a planned session, as far as its bookings allow."""
    facility = _facility_or_404(request, code)
    session = _session_or_404(facility, public_id)
    if session.status != Session.Status.PLANNED or session.date < timezone.localdate():
        raise Http404
    numbers = sorted(set(staff_forms.dose_numbers(facility.country)) | set(session.dose_numbers))
    vaccines = _vaccines(facility.country)
    current = staff_forms.from_session(session, numbers)
    if request.method == "GET":
        return _form_page(request, facility, current, vaccines, session)
    form = staff_forms.read(request.POST, numbers=numbers, vaccines=vaccines, current=current)
    if form.errors:
        return _form_page(request, facility, form, vaccines, session, status=400)
    try:
        planning.session_update(by=staff_user(request), session=session, **form.plan)
    except DomainError as error:
        form.errors = refusal(error)
        return _form_page(request, facility, form, vaccines, session, status=error.status)
    messages.success(request, _("The session on {date} is changed.").format(date=_day(session)))
    return go(request, reverse("staff:sessions", args=[facility.code]))


@require_http_methods(["GET", "POST"])
@staff_required
def session_cancel(request: HttpRequest, code: str, public_id: str) -> HttpResponse:
    """Cancel a planned session after a confirmation with a reason; tell everyone booked."""
    facility = _facility_or_404(request, code)
    session = _session_or_404(facility, public_id)
    if session.status != Session.Status.PLANNED:
        raise Http404
    people = session.appointments.filter(status=Appointment.Status.BOOKED).count()
    context: dict[str, Any] = {
        "facility": facility,
        "session": session,
        "people": people,
        "reason": "",
        "errors": {},
    }
    template = "staff/_cancel_form.html" if is_htmx(request) else "staff/session_cancel.html"
    if request.method == "GET":
        return render(request, "staff/session_cancel.html", context)
    context["reason"] = request.POST.get("reason", "")[:_REASON_LENGTH]
    try:
        planning.session_cancel(by=staff_user(request), session=session, reason=context["reason"])
    except DomainError as error:
        context["errors"] = refusal(error)
        return render(request, template, context, status=error.status)
    messages.success(
        request,
        ngettext(
            "The session on {date} is cancelled; {count} person is told by SMS.",
            "The session on {date} is cancelled; {count} people are told by SMS.",
            people,
        ).format(date=_day(session), count=people),
    )
    return go(request, reverse("staff:sessions", args=[facility.code]))
