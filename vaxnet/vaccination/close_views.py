"""Pages for closing a session: the vials returned per batch, then the day's summary."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from vaxnet.booking.models import Session
from vaxnet.booking.staff_views import staff_required
from vaxnet.core.access import session_for_staff
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import go, staff_user
from vaxnet.vaccination import roles
from vaxnet.vaccination.close import close_lines, session_close, session_summary
from vaxnet.vaccination.day_views import links, refuse_on
from vaxnet.vaccination.forms import CloseForm


def _session(request: HttpRequest, public_id: str) -> Session:
    try:
        return session_for_staff(staff_user(request), public_id, roles=roles.CLOSERS)
    except NotFound:
        raise Http404 from None


@require_http_methods(["GET", "POST"])
@staff_required
def close(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show the close form of a session, and close it with the vials returned."""
    session = _session(request, public_id)
    summary_url = reverse("day:summary", args=[session.public_id])
    if session.status == Session.Status.CLOSED:
        return go(request, summary_url)
    lines = close_lines(session)
    form = CloseForm(request.POST if request.method == "POST" else None, lines=lines)
    status = 200
    if form.is_bound:
        status = 422
        if form.is_valid():
            unopened = {line.batch: form.cleaned_data[form.key(line)] for line in lines}
            try:
                session_close(by=staff_user(request), session=session, unopened_vials=unopened)
            except DomainError as error:
                refuse_on(form, error)
                status = error.status
            else:
                return go(request, summary_url)
    context = {
        "session": session,
        "form": form,
        "summary": session_summary(session),
        **links(request, session),
    }
    return render(request, "vaccination/close.html", context, status=status)


@require_GET
@staff_required
def summary(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show a session's day in figures: per batch, and per outcome of its appointments."""
    session = _session(request, public_id)
    context = {"session": session, "summary": session_summary(session), **links(request, session)}
    return render(request, "vaccination/summary.html", context)
