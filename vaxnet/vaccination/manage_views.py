"""Pages for facility managers and administrators: staff, a day's sessions, progress, AEFIs.

A facility manager sees their facility, a district, state or national administrator their
region and every facility in it; for anyone else a page answers 404, as a missing one does.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from vaxnet.booking.staff_views import _country, _name_filter, staff_required
from vaxnet.core.access import (
    active_memberships,
    facilities_in_scope,
    facility_for_staff,
    region_for_staff,
)
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, is_htmx, refusal, staff_user
from vaxnet.facilities.models import Facility, Role
from vaxnet.geo.models import Region
from vaxnet.vaccination import manage_queries as queries
from vaxnet.vaccination import manage_services as services
from vaxnet.vaccination.roles import ADMINS

# Who sees these pages: verifiers, vaccinators and store keepers do not.
MANAGERS = (Role.FACILITY_MANAGER, *ADMINS)
FACILITIES_PER_PAGE = 20
SESSIONS_PER_PAGE = 50
AEFIS_PER_PAGE = 50
_SEARCH_LENGTH = 60
_CODE_LENGTH = 40


@dataclass(frozen=True)
class Scope:
    """What a page covers: one facility, or a region and every facility in it."""

    facilities: QuerySet[Facility]
    # The URL keyword naming the place: {"region": code} or {"facility": code}.
    key: dict[str, str]
    region: Region | None = None
    facility: Facility | None = None

    @property
    def name(self) -> str:
        """Return the facility's or the region's name."""
        place = self.facility or self.region
        return place.name if place is not None else ""

    def url(self, name: str) -> str:
        """Return the URL of the named page for this scope."""
        return reverse(f"manage:{name}", kwargs=self.key)


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def _facility_or_404(request: HttpRequest, code: str) -> Facility:
    """Return the facility with this code if the user manages it or administers its region."""
    public_id = (
        Facility.objects.filter(country=_country(), code=code.strip()[:_CODE_LENGTH])
        .values_list("public_id", flat=True)
        .first()
    )
    if public_id is None:
        raise Http404
    try:
        return facility_for_staff(staff_user(request), public_id, roles=MANAGERS)
    except NotFound:
        raise Http404 from None


def _scope(request: HttpRequest, region: str | None, facility: str | None) -> Scope:
    """Return the region (administrators only) or the facility the URL names, else 404."""
    if facility is not None:
        place = _facility_or_404(request, facility)
        return Scope(
            facilities=Facility.objects.filter(pk=place.pk),
            key={"facility": place.code},
            facility=place,
        )
    try:
        area = region_for_staff(staff_user(request), (region or "")[:_CODE_LENGTH], roles=ADMINS)
    except NotFound:
        raise Http404 from None
    facilities = Facility.objects.filter(region_path__startswith=area.path)
    return Scope(facilities=facilities, key={"region": area.code}, region=area)


def _link(name: str, public_id: str) -> str:
    """Return the URL of another page about the object, or "" while that page does not exist."""
    try:
        return reverse(name, args=[public_id])
    except NoReverseMatch:
        return ""


def _day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return timezone.localdate()


@require_GET
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    """List the regions and facilities the signed-in manager or administrator looks after."""
    country = _country()
    user = staff_user(request)
    scope = facilities_in_scope(user, MANAGERS)
    if scope is None:
        raise Http404
    regions = sorted(
        {m.region for m in active_memberships(user, ADMINS) if m.region is not None},
        key=lambda region: region.path,
    )
    search = request.GET.get("q", "").strip()[:_SEARCH_LENGTH]
    facilities = Facility.objects.filter(scope).filter(country=country).select_related("region")
    if search:
        facilities = facilities.filter(_name_filter(country, search))
    page = Paginator(facilities.order_by("code"), FACILITIES_PER_PAGE).get_page(
        _page_number(request.GET.get("page"))
    )
    context = {
        "regions": regions,
        "search": search,
        "page": page,
        "page_query": urlencode({"q": search} if search else {}),
        "admin": bool(regions) or user.is_superuser,
    }
    template = "manage/_facilities.html" if is_htmx(request) else "manage/home.html"
    return render(request, template, context)


def _staff_page(
    request: HttpRequest,
    facility: Facility,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = staff_user(request)
    managed = services.roles_managed(user, facility)
    rows = [
        (membership, membership.role in managed and membership.user_id != user.pk)
        for membership in queries.staff_of(facility)
    ]
    roles = [(role, Role(role).label) for role in managed]
    context = {
        "facility": facility,
        "rows": rows,
        "roles": roles,
        "errors": errors or {},
        "values": values or {},
    }
    template = "manage/_staff.html" if is_htmx(request) else "manage/staff.html"
    return render(request, template, context, status=status)


@require_GET
@staff_required
def staff(request: HttpRequest, code: str) -> HttpResponse:
    """List the facility's staff: role, since when, whether active, last sign-in."""
    return _staff_page(request, _facility_or_404(request, code))


@require_POST
@staff_required
def staff_add(request: HttpRequest, code: str) -> HttpResponse:
    """Give a user a role at the facility, by user name."""
    facility = _facility_or_404(request, code)
    values = {
        "username": request.POST.get("username", "").strip()[:150],
        "role": request.POST.get("role", "")[:20],
    }
    try:
        membership = services.membership_add(
            by=staff_user(request),
            facility=facility,
            username=values["username"],
            role=values["role"],
        )
    except DomainError as error:
        return _staff_page(
            request,
            facility,
            errors=refusal(error, "username"),
            values=values,
            status=error.status,
        )
    messages.success(
        request,
        _("{name} is now {role} here.").format(
            name=membership.user.get_username(), role=membership.get_role_display()
        ),
    )
    return go(request, reverse("manage:staff", args=[facility.code]))


@require_POST
@staff_required
def staff_active(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    """Activate or deactivate one of the facility's memberships."""
    facility = _facility_or_404(request, code)
    membership = queries.staff_of(facility).filter(pk=pk).first()
    if membership is None:
        raise Http404
    active = request.POST.get("active") == "1"
    try:
        services.membership_set_active(by=staff_user(request), membership=membership, active=active)
    except DomainError as error:
        return _staff_page(request, facility, errors=refusal(error), status=error.status)
    name = membership.user.get_username()
    if active:
        messages.success(request, _("{name} may work here again.").format(name=name))
    else:
        messages.success(request, _("{name} no longer works here.").format(name=name))
    return go(request, reverse("manage:staff", args=[facility.code]))


@require_GET
@staff_required
def sessions(
    request: HttpRequest, region: str | None = None, facility: str | None = None
) -> HttpResponse:
    """List every session in the region (or at the facility) on a date, with its figures."""
    scope = _scope(request, region, facility)
    on = _day(request.GET.get("date"))
    page = Paginator(queries.sessions_on(scope.facilities, on), SESSIONS_PER_PAGE).get_page(
        _page_number(request.GET.get("page"))
    )
    rows = [(session, _link("day:session", session.public_id)) for session in page.object_list]
    context = {
        "scope": scope,
        "url": scope.url("sessions"),
        "on": on,
        "today": timezone.localdate(),
        "page": page,
        "rows": rows,
        "page_query": urlencode({"date": on.isoformat()}),
    }
    template = "manage/_sessions.html" if is_htmx(request) else "manage/sessions.html"
    return render(request, template, context)


@require_GET
@staff_required
def today(
    request: HttpRequest, region: str | None = None, facility: str | None = None
) -> HttpResponse:
    """Show today's progress in the region (or at the facility); htmx refreshes it."""
    scope = _scope(request, region, facility)
    on = timezone.localdate()
    context: dict[str, Any] = {
        "scope": scope,
        "url": scope.url("today"),
        "sessions_url": scope.url("sessions"),
        "on": on,
        "progress": queries.progress_on(scope.facilities, on),
        "at": timezone.localtime(),
    }
    template = "manage/_today.html" if is_htmx(request) else "manage/today.html"
    return render(request, template, context)


@require_GET
@staff_required
def aefi(
    request: HttpRequest, region: str | None = None, facility: str | None = None
) -> HttpResponse:
    """List the open adverse events in the region (or at the facility), serious ones first."""
    scope = _scope(request, region, facility)
    page = Paginator(queries.open_aefis(scope.facilities), AEFIS_PER_PAGE).get_page(
        _page_number(request.GET.get("page"))
    )
    rows = [
        (event, queries.age_at(event), _link("aefi:detail", event.public_id))
        for event in page.object_list
    ]
    context = {"scope": scope, "url": scope.url("aefi"), "page": page, "rows": rows}
    template = "manage/_aefi.html" if is_htmx(request) else "manage/aefi.html"
    return render(request, template, context)
