"""Starting a transfer from the pages: the pathways the signed-in person may start, and the
form for one, posted through api.routes.transfers.begin_transfer, the same function the
API's start calls: the same checks, Idempotency-Key registration and workflow start.

Each rendered form carries a fresh Idempotency-Key, so a double-click starts once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.deps import AppState, as_actor, get_state
from api.errors import invalid_request_body
from api.references import IDEMPOTENCY_KEY
from api.routes.transfers import StartTransfer, begin_transfer
from api.starting import pathway_named_parties
from models.protocol import Pathway, Protocol
from models.tables import Staff
from pages import routes
from pages.action_forms import new_key
from pages.actions import FormProblem, _date, _fields
from pages.form_errors import DateProblem, Problems, parse_date
from pages.session import CSRF_FIELD, PageSession, csrf_ok
from workflows.rules import holds

router = APIRouter(prefix="/pages", include_in_schema=False)
KEY_FIELD = "idempotency_key"
DATED = ("anchor", "agreed")  # the date inputs besides the key dates (key-<name>)
CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SEPARATORS = re.compile(r"[\s,]+")


def startable(state: AppState, staff: Staff) -> dict[str, Pathway]:
    """The pathways this person may start: the API's own rule (a start_by ref they hold)."""
    protocol = state.protocols.get(staff.authority)
    if protocol is None:
        return {}
    actor = as_actor(staff)
    return {name: p for name, p in protocol.pathways.items()
            if any(holds(actor, ref, p) for ref in p.start_by)}


def _form_parts(state: AppState, protocol: Protocol, name: str, pathway: Pathway
                ) -> dict[str, Any]:
    """What the chosen pathway's form asks for besides the case: its parties, key dates
    and organisations named at the start, each with its choices."""
    externals = {n: (e, state.addresses.organisations(protocol.authority, n))
                 for n, e in pathway.externals.items() if e.chosen_at_start
                 and n in (pathway.sending, pathway.receiving, *pathway_named_parties(pathway))}
    return {
        "pathway_id": name, "pathway": pathway, "teams": protocol.teams,
        "parties": {n: p for n, p in pathway.parties.items() if p.named_at == "start"},
        "key_dates": pathway.key_dates, "externals": externals,
        "takes_agreed_date": pathway.transfer.agreed_date is not None,
    }


def _local_now(protocol: Protocol) -> datetime:
    return routes._now().astimezone(ZoneInfo(protocol.calendar.timezone))


def _default_fields(protocol: Protocol) -> dict[str, list[str]]:
    now = _local_now(protocol)
    return {"anchor-day": [str(now.day)], "anchor-month": [str(now.month)],
            "anchor-year": [str(now.year)], "anchor-time": [f"{now:%H:%M}"]}


def _page(request: Request, session: PageSession, staff: Staff, state: AppState,
          pathway_id: str, status: int = 200, problems: Problems | None = None,
          sent: dict[str, list[str]] | None = None) -> Response:
    protocol = state.protocols.get(staff.authority)
    offered = startable(state, staff)
    chosen = offered.get(pathway_id)
    form = _form_parts(state, protocol, pathway_id, chosen) if protocol and chosen else None
    problems = problems or Problems()
    if form is None and problems.fields:  # no form to show them beside: the form's problem
        problems = Problems(refusal=" ".join(problems.fields.values()))
    summary = [(f"{k}-day" if k in DATED or k.startswith("key-") else k, m)
               for k, m in problems.fields.items()]
    return routes._render(
        request, "start.html", status, session=session, staff=staff, offered=offered,
        form=form, problems=problems, summary=summary, key=new_key(),
        sent=sent if sent is not None else (_default_fields(protocol) if protocol else {}))


@router.get("/transfers/new", response_model=None)
def start_page(request: Request, pathway: str = "") -> Response:
    state = get_state(request)
    signed = routes.signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    return _page(request, session, staff, state, pathway)


def _one(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0].strip()


def body_of(protocol: Protocol, pathway_id: str, fields: dict[str, list[str]]
            ) -> StartTransfer:
    """The API's start body from the form; a problem in words, as the API's."""
    pathway = protocol.pathways[pathway_id]
    problems = check_start(pathway, fields)
    if problems.fields:
        raise StartProblems(problems)
    day = _date(fields, "anchor")
    clock = CLOCK.match(_one(fields, "anchor-time"))
    assert day is not None and clock is not None  # check_start asked for both
    anchor = datetime.combine(day, time(int(clock.group(1)), int(clock.group(2))),
                              ZoneInfo(protocol.calendar.timezone))
    data: dict[str, Any] = {
        "authority": protocol.authority, "pathway": pathway_id,
        "case_id": _one(fields, "case_id"), "anchor_at": anchor,
        "children": [c for c in SEPARATORS.split(_one(fields, "children")) if c],
        "parties": {n: _one(fields, f"party-{n}") for n in pathway.parties
                    if _one(fields, f"party-{n}")},
        "externals": {n: _one(fields, f"external-{n}") for n in pathway.externals
                      if _one(fields, f"external-{n}")},
        "key_dates": {},
    }
    for name in pathway.key_dates:
        found = _date(fields, f"key-{name}")
        if found is not None:
            data["key_dates"][name] = found
    if pathway.transfer.agreed_date is not None:
        agreed: date | None = _date(fields, "agreed")
        if agreed is not None:
            data["agreed_transfer_date"] = agreed
    if not all(protocol.is_case_id(i) for i in (data["case_id"], *data["children"])):
        # The API's own sentence: its body's pattern would otherwise answer first, in
        # pydantic's words.
        raise FormProblem(f"The case id and each child id must be a {protocol.authority} "
                          f"case id (a name is never one): {protocol.case_id_pattern}",
                          "case_id")
    try:
        return StartTransfer.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        raise FormProblem(invalid_request_body(errors)["detail"],
                          _pydantic_field(list(errors))) from exc


class StartProblems(Exception):
    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(problems.fields.values()))
        self.problems = problems


def check_start(pathway: Pathway, fields: dict[str, list[str]]) -> Problems:
    """What the start form says is wrong by itself, every field at once."""
    problems = Problems()  # in the form's order, as the summary lists them
    happened = f"the event that starts the clock ({pathway.anchor.title})"
    for name in ("anchor", "anchor-time", "agreed", *(f"key-{k}" for k in pathway.key_dates)):
        if name == "anchor-time":
            if not CLOCK.match(_one(fields, name)):
                problems.fields[name] = (f"Enter the time of {happened}, on the 24-hour "
                                         "clock, such as 09:30")
            continue
        try:
            found = parse_date(fields, name)
        except DateProblem as problem:
            problems.fields[name] = str(problem)
            continue
        if name == "anchor" and found is None:
            problems.fields[name] = f"Enter the date of {happened}"
    return problems


def start_field(pathway: Pathway, message: str) -> str | None:
    """The start form's field an API sentence is about; None for a rule."""
    if "case id" in message:
        return "case_id"
    if "agreed transfer date" in message:
        return "agreed"
    for name in pathway.key_dates:
        if f"key date {name}" in message:
            return f"key-{name}"
    lowered = message.lower()  # a title inside a sentence may lose its capital
    for name, party in pathway.parties.items():
        if party.named_at == "start" and party.title.lower() in lowered:
            return f"party-{name}"
    for name, external in pathway.externals.items():
        if external.chosen_at_start and external.title.lower() in lowered:
            return f"external-{name}"
    if pathway.anchor.title in message:
        return "anchor"
    return None


def _pydantic_field(errors: list[Any]) -> str | None:
    for error in errors:
        loc = error.get("loc", ())
        prefixes = {"parties": "party-", "externals": "external-", "key_dates": "key-"}
        if len(loc) >= 2 and loc[0] in prefixes:
            return f"{prefixes[loc[0]]}{loc[1]}"
        if loc:
            return {"anchor_at": "anchor", "agreed_transfer_date": "agreed"}.get(
                str(loc[0]), str(loc[0]))
    return None


@router.post("/transfers/new", response_model=None)
async def start(request: Request) -> Response:
    state = get_state(request)
    signed = routes.signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    fields = await _fields(request)
    key = _one(fields, KEY_FIELD)
    if not csrf_ok(session, _one(fields, CSRF_FIELD)) or not re.match(IDEMPOTENCY_KEY, key):
        return routes._bad_form(request, session)
    pathway_id = _one(fields, "pathway")
    protocol = state.protocols.get(staff.authority)
    if protocol is None or pathway_id not in startable(state, staff):
        return _page(request, session, staff, state, "", 403, Problems(
            refusal="You may not start a transfer on that pathway; choose one listed here"))
    pathway = protocol.pathways[pathway_id]
    try:
        view = await begin_transfer(state, staff, body_of(protocol, pathway_id, fields), key)
    except StartProblems as found:
        code, problems = 422, found.problems
    except FormProblem as problem:
        code, problems = 422, _placed(str(problem), problem.field)
    except HTTPException as exc:
        code, detail = exc.status_code, str(exc.detail)
        problems = _placed(detail, start_field(pathway, detail) if code == 422 else None)
    else:
        return RedirectResponse(f"/pages/transfers/{view.transfer_id}?done=start-transfer",
                                status_code=303)
    return _page(request, session, staff, state, pathway_id, code, problems, fields)


def _placed(message: str, key: str | None) -> Problems:
    return Problems(fields={key: message}) if key else Problems(refusal=message)
