"""The managers' pages: sign-in (development chooser), the work tray, a transfer.

Every read goes through the API's own store queries and need-to-know rules
(api/store_queries, api/need_to_know, api/routes/transfers.load_readable), and is
recorded as the API records it: the pages never decide who may read what.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlmodel import Session, col, select

from activities.working_days import non_working_dates
from api import store_queries as q
from api.deps import AppState, get_state, signed_in
from api.limits import ID_CHARS
from api.need_to_know import pathways_naming
from api.routes.transfers import load_readable, scope, trail
from config import Settings
from models.protocol import Calendar, Pathway
from models.tables import Staff
from models.transfer import Stage, TransferView
from pages.action_forms import actions_context
from pages.session import (
    CSRF_FIELD,
    PageSession,
    Sessions,
    SessionSecretMissing,
    csrf_ok,
    new_session,
)
from pages.sign_in_oidc import problem, provider_of
from pages.sign_in_oidc import router as sign_in_oidc_router
from pages.timeline import build as build_timeline
from pages.timeline_chart import draw_timeline
from pages.wording import deadline_row, deadline_words
from workflows.rules import who

router = APIRouter(prefix="/pages", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
PAGE_SIZE = 25
MAX_PAGE = 10_000


class NotSignedIn(Exception):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def sessions_of(request: Request) -> Sessions:
    """One signer per app, made on first use: production without a secret fails here."""
    found: Sessions | None = getattr(request.app.state, "pages_sessions", None)
    if found is None:
        found = Sessions(get_state(request).settings)
        request.app.state.pages_sessions = found
    return found


def _render(request: Request, template: str, status: int = 200, *,
            session: PageSession | None = None, staff: Staff | None = None,
            **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, template, {"staff": staff, "csrf": session.csrf if session else "",
                            "csrf_field": CSRF_FIELD, **context}, status_code=status)


def _signed_in(request: Request, state: AppState) -> tuple[PageSession, Staff]:
    """The session's staff member, through the API's own rule (a leaver is refused)."""
    try:
        session = sessions_of(request).read(request)
    except SessionSecretMissing as exc:
        raise NotSignedIn from exc
    if session is None or session.staff_id is None:
        raise NotSignedIn
    with Session(state.engine, expire_on_commit=False) as db:
        staff = db.get(Staff, session.staff_id)
    if staff is None or staff.kind != "person":
        raise NotSignedIn
    return session, signed_in(staff)


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (first value of each); the body size is already bounded."""
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return {}
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {name: values[0] for name, values in parsed.items()}


def signed_in_or_answer(request: Request, state: AppState
                        ) -> tuple[PageSession, Staff] | Response:
    """Who is signed in, or the page's answer when nobody may go on: the sign-in page for
    nobody, a readable refusal for a leaver."""
    try:
        return _signed_in(request, state)
    except NotSignedIn:
        return RedirectResponse("/pages/sign-in", status_code=303)
    except HTTPException as exc:
        return _refused(request, None, None, str(exc.detail), exc.status_code)


def _refused(request: Request, session: PageSession | None, staff: Staff | None,
             message: str, status: int) -> HTMLResponse:
    return _render(request, "refused.html", status, session=session, staff=staff,
                   message=message)


def _bad_form(request: Request, session: PageSession | None) -> HTMLResponse:
    return _refused(request, session, None, "This form was not sent from this service, or "
                    "it has expired. Go back, reload the page and try again.", 403)


# ----- Signing in and out ----------------------------------------------------------------

@router.get("", response_model=None)
async def home() -> RedirectResponse:
    return RedirectResponse("/pages/tray", status_code=303)


@router.get("/sign-in", response_model=None)
def sign_in_page(request: Request, authority: str | None = None) -> Response:
    state = get_state(request)
    provider = provider_of(request)
    if state.settings.environment == "production":
        # The council's identity provider is the only way in (pages/sign_in_oidc).
        if provider is None:
            return _refused(request, None, None, "Signing in to these pages needs the "
                            "council's identity provider, which is not set up.", 501)
        if request.query_params.get("signed_out"):
            return problem(request, "", 200, signed_out=True, end_session=True)
        return RedirectResponse("/pages/sign-in/idp", status_code=303)
    sessions = sessions_of(request)
    session = sessions.read(request) or new_session()
    chosen = authority if authority in state.protocols else min(state.protocols, default="")
    with Session(state.engine) as db:
        people = list(db.exec(select(Staff).where(
            Staff.authority == chosen, col(Staff.demo).is_(True), col(Staff.active).is_(True),
            Staff.kind == "person").order_by(col(Staff.team), col(Staff.id))).all())
    response = _render(request, "sign_in.html", session=session, people=people,
                       authority=chosen, authorities=sorted(state.protocols),
                       provider=provider is not None)
    sessions.write(response, session)
    return response


@router.post("/sign-in", response_model=None)
async def sign_in(request: Request) -> Response:
    state = get_state(request)
    if state.settings.environment == "production":
        return _refused(request, None, None, "The demo staff chooser is for development "
                        "only.", 403)
    sessions = sessions_of(request)
    session = sessions.read(request)
    form = await _form(request)
    if not csrf_ok(session, form.get(CSRF_FIELD)):
        return _bad_form(request, session)
    with Session(state.engine, expire_on_commit=False) as db:
        staff = db.get(Staff, form.get("staff_id", ""))
    if staff is None or not staff.demo or staff.kind != "person":
        return RedirectResponse("/pages/sign-in?error=choose", status_code=303)
    try:
        signed_in(staff)
    except HTTPException as exc:
        return _refused(request, session, None, str(exc.detail), exc.status_code)
    response = RedirectResponse("/pages/tray", status_code=303)
    sessions.write(response, new_session(staff.id))  # a new CSRF token with each sign-in
    return response


@router.post("/sign-out", response_model=None)
async def sign_out(request: Request) -> Response:
    sessions = sessions_of(request)
    session = sessions.read(request)
    if not csrf_ok(session, (await _form(request)).get(CSRF_FIELD)):
        return _bad_form(request, session)
    response = RedirectResponse("/pages/sign-in?signed_out=1", status_code=303)
    sessions.clear(response)
    return response


# ----- The work tray ---------------------------------------------------------------------

@lru_cache(maxsize=64)
def _closed_days(closures: tuple[date, ...], year: int) -> frozenset[date]:
    calendar = Calendar(closure_days=list(closures))
    return frozenset(non_working_dates(calendar, range(year - 2, year + 3)))


def closed_days(state: AppState, authority: str, now: datetime) -> frozenset[date]:
    """The authority's protocol calendar (the view does not carry its frozen calendar)."""
    protocol = state.protocols.get(authority)
    closures = tuple(protocol.calendar.closure_days) if protocol else ()
    return _closed_days(closures, now.year)


def tray(db: Session, state: AppState, staff: Staff, *, stage: str | None,
         pathway: str | None, overdue: bool | None, offset: int, now: datetime
         ) -> tuple[list[TransferView], int]:
    """One page of the reader's tray, overdue first, each part by next deadline: the SQL
    of GET /transfers, once per part."""
    reader = scope(state, staff)
    common: dict[str, Any] = dict(
        authority=staff.authority, team=None, stage=stage, pathway=pathway, now=now,
        readable_by=reader.teams,
        named_on=pathways_naming(state.protocols.get(staff.authority), reader))
    if overdue is not None:
        views, total = q.list_transfers(db, overdue=overdue, limit=PAGE_SIZE, offset=offset,
                                        **common)
    else:
        late, late_total = q.list_transfers(db, overdue=True, limit=PAGE_SIZE, offset=offset,
                                            **common)
        room = PAGE_SIZE - len(late)
        # At least one row asked for, so that the count comes back even on a full page.
        rest, rest_total = q.list_transfers(db, overdue=False, limit=max(room, 1),
                                            offset=max(0, offset - late_total), **common)
        views, total = [*late, *rest[:room]], late_total + rest_total
    return [TransferView.model_validate_json(v) for v in views], total


@router.get("/tray", response_model=None)
def tray_page(request: Request, stage: str = "", pathway: str = "", overdue: str = "",
              page: str = "1") -> Response:
    state = get_state(request)
    signed = signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    protocol = state.protocols.get(staff.authority)
    pathways = sorted(protocol.pathways) if protocol else []
    stages = [s.value for s in Stage]
    chosen_stage = stage if stage in stages else None
    chosen_pathway = pathway if pathway in pathways else None
    late = {"yes": True, "no": False}.get(overdue)
    # A page number typed wrong is page 1, not an error page.
    number = min(max(int(page), 1), MAX_PAGE) if page.isdigit() and len(page) < 6 else 1
    now = _now()
    with Session(state.engine) as db:
        q.record_read(db, staff=staff, what="tray", transfer_id=None, now=now)
        views, total = tray(db, state, staff, stage=chosen_stage, pathway=chosen_pathway,
                            overdue=late, offset=(number - 1) * PAGE_SIZE, now=now)
    closed = closed_days(state, staff.authority, now)
    rows = [{"view": v, "late": v.overdue or bool(v.next_deadline and v.next_deadline.due_at
                                                  <= now),
             "next": deadline_words(v.next_deadline.due_at, now, closed)
             if v.next_deadline else "No pending deadline",
             "pathway_title": protocol.pathways[v.pathway].title
             if protocol and v.pathway in protocol.pathways else v.pathway} for v in views]
    filters = {"stage": chosen_stage or "", "pathway": chosen_pathway or "",
               "overdue": overdue if late is not None else ""}
    pages = max(1, -(-total // PAGE_SIZE))

    def link(to: int) -> str:
        return "/pages/tray?" + urlencode({**{k: v for k, v in filters.items() if v},
                                           "page": to})

    return _render(request, "tray.html", session=session, staff=staff, rows=rows,
                   total=total, page=number, pages=pages, filters=filters, stages=stages,
                   pathways=pathways,
                   previous=link(number - 1) if number > 1 else None,
                   next_page=link(number + 1) if number < pages else None)


# ----- A transfer ------------------------------------------------------------------------

def _who_may(pathway: Pathway | None, spec: Any, parties: dict[str, str]) -> str:
    refs = getattr(spec, "by", None) if spec is not None else None
    return who(pathway, list(refs), parties) if pathway is not None and refs else ""


@router.get("/transfers/{transfer_id}", response_model=None)
def transfer_page(request: Request, transfer_id: str, done: str = "") -> Response:
    state = get_state(request)
    signed = signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    now = _now()
    with Session(state.engine) as db:
        try:
            if len(transfer_id) > ID_CHARS:  # as the API's bound; no read to record
                raise HTTPException(404, f"No such transfer in {staff.authority}")
            view = load_readable(db, state, staff, transfer_id, "transfer")
        except HTTPException as exc:
            # Word for word the API's answer: to anyone who need not know, it does not exist.
            return _render(request, "not_found.html", exc.status_code, session=session,
                           staff=staff, message=str(exc.detail))
        events = trail(db, view)
    protocol = state.protocols.get(view.authority)
    pathway = protocol.pathways.get(view.pathway) if protocol else None
    closed = closed_days(state, view.authority, now)
    gates = [{"gate": g, "who": _who_may(pathway, pathway.gates.get(g.id) if pathway else None,
                                         view.parties)} for g in view.gates]
    duties = [{"task": t, "who": _who_may(
        pathway, pathway.after_transfer.get(t.id) if pathway else None, view.parties)}
        for t in view.tasks]
    deadlines = [dict(zip(("deadline", "words", "status"), (d, *deadline_row(d, now, closed)),
                          strict=True)) for d in view.deadlines]
    timeline = build_timeline(view, events, now)
    return _render(request, "transfer.html", session=session, staff=staff, view=view,
                   pathway_title=pathway.title if pathway else view.pathway, gates=gates,
                   deadlines=deadlines, duties=duties, events=events,
                   timeline=timeline, timeline_picture=draw_timeline(timeline),
                   **actions_context(state, staff, view, done))


def add_pages(app: FastAPI, settings: Settings) -> None:
    """The pages, their own files and GOV.UK Frontend's, all served from this app."""
    dist = settings.pages_node_modules / "govuk-frontend" / "dist" / "govuk"
    # Imported here: pages.actions and pages.pathways build on this module's sign-in and
    # rendering.
    from pages.actions import router as actions_router
    from pages.pathways import router as pathways_router
    from pages.starting import router as starting_router

    # Before the pages' own router: /transfers/new is not a transfer's id.
    app.include_router(starting_router)
    app.include_router(router)
    app.include_router(actions_router)
    app.include_router(pathways_router)
    from pages.report import router as report_router  # it imports this module's helpers

    app.include_router(report_router)
    app.include_router(sign_in_oidc_router)
    # check_dir off: an app without `npm ci --prefix web` still serves the API.
    app.mount("/pages/govuk", StaticFiles(directory=dist, check_dir=False), name="govuk")
    app.mount("/pages/static", StaticFiles(directory=Path(__file__).parent / "static"),
              name="pages-static")
    # GOV.UK Frontend's stylesheet asks for its fonts and images at /assets/.
    app.mount("/assets", StaticFiles(directory=dist / "assets", check_dir=False),
              name="govuk-assets")
