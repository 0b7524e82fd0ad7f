"""Transfers: start one, act on it, read it, list work trays, read its audit trail."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session
from temporalio.client import WorkflowHandle

from api import store_queries as q
from api.actions import UPDATE_TIMEOUT, ActionBody, check_action_dates, note_text, send_action
from api.deps import AppState, SessionDep, StaffDep, StateDep, as_actor
from api.errors import EVERY_ROUTE, error_responses, http_error
from api.limits import (
    ID_CHARS,
    KEY_DATE_YEARS,
    MANY,
    NAME_CHARS,
    SIBLINGS,
    TRANSFER_DATE_YEARS,
    Name,
    check_anchor_age,
    check_anchor_window,
    check_dates,
)
from api.need_to_know import Scope, may_read, pathways_naming, scope_of
from api.references import IDEMPOTENCY_KEY, key_reference, reference_secret
from api.starting import agreed_date_problem, open_transfer, start_problem, transfer_id_for
from models.external_addresses import ORGANISATION
from models.protocol import Protocol
from models.tables import Staff
from models.transfer import (
    IDENTIFIER,
    Stage,
    TransferView,
)
from workflows.rules import holds, who

# Refusals every route can send (401, 422, 503) are declared once, here; each route adds
# its own, so the OpenAPI document lists every status a route answers with.
router = APIRouter(prefix="/transfers", tags=["transfers"], responses=EVERY_ROUTE)
FUTURE_GRACE = timedelta(minutes=5)
TransferId = Annotated[str, Path(max_length=ID_CHARS)]
TRANSFER_ID = r"^transfer-[a-z][a-z0-9_]{0,63}-" + IDENTIFIER.removeprefix("^")
ACTION = r"^[a-z][a-z0-9-]{0,79}$"  # every action a protocol can name; refusals may echo it
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY,
           description="Send the same key again to retry safely: the action is taken once. "
                       "Use a new key for each new request, e.g. a UUID: letters, digits and "
                       ". _ : - only, at most 128; never a name or other case details."),
]


class StartTransfer(BaseModel):
    authority: Name = Field(examples=["gateshead"])
    pathway: Name = Field(examples=["sgcp-to-lac"])
    case_id: str = Field(pattern=IDENTIFIER, examples=["C100234"])
    children: list[Annotated[str, Field(pattern=IDENTIFIER)]] = Field(
        default=[], max_length=SIBLINGS,
        description="Child ids moving together (siblings); default: the case id")
    anchor_at: AwareDatetime | None = Field(
        default=None, description="When the clock starts (e.g. the TM discussion); default now")
    agreed_transfer_date: date | None = Field(
        default=None, description="Agreed transfer date; default: the protocol's deadline")
    parties: dict[Name, Annotated[str, Field(pattern=IDENTIFIER)]] = Field(
        default={}, max_length=MANY,
        description="Teams the pathway names at the start (party: team code)")
    key_dates: dict[Name, date] = Field(
        default={}, max_length=MANY,
        description="Plain dates the pathway's clocks run from (e.g. the day the "
                    "child turns 15½), computed where the date of birth is kept; "
                    "never the date of birth itself")
    externals: dict[Name, Annotated[str, Field(pattern=ORGANISATION)]] = Field(
        default={}, max_length=MANY,
        description="Organisations outside the council the pathway names at the "
                    "start (e.g. other_authority: newcastle), by identifier")


class TransferPage(BaseModel):
    data: list[TransferView]
    count: int


class EventOut(BaseModel):
    seq: int
    at: datetime
    kind: str
    summary: str
    stage: str
    actor_id: str | None
    actor_role: str | None
    actor_team: str | None
    note: str | None


def _pathway(protocols: dict[str, Protocol], authority: str, pathway: str) -> Protocol:
    protocol = protocols.get(authority)
    if protocol is None:
        raise HTTPException(422, "Unknown authority; known: " + ", ".join(sorted(protocols)))
    if pathway not in protocol.pathways:
        # The unknown name is not repeated: a refusal never echoes text that failed a check.
        raise HTTPException(422, f"Authority {authority} has no such pathway; its "
                                 f"pathways are: {', '.join(protocol.pathways)}")
    return protocol


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TransferView,
             responses=error_responses(400, 403, 409, 504))
async def start_transfer(body: StartTransfer, state: StateDep, staff: StaffDep,
                         idempotency_key: IdempotencyKey = None) -> TransferView:
    """Start a transfer. Returns every planned deadline with its due time.

    Sent again with the same Idempotency-Key for the same case, it answers as the first
    time and starts nothing more; a key already used to start another case is refused."""
    return await begin_transfer(state, staff, body, idempotency_key)


async def begin_transfer(state: AppState, staff: Staff, body: StartTransfer,
                         idempotency_key: str | None) -> TransferView:
    """One start, by the API's route and by the pages alike: the same checks, key
    registration and workflow start; refusals are HTTPExceptions with the readable sentence."""
    if body.authority != staff.authority:
        raise HTTPException(403, f"You work for {staff.authority}, not for the authority named")
    protocol = _pathway(state.protocols, body.authority, body.pathway)
    pathway = protocol.pathways[body.pathway]
    if not all(protocol.is_case_id(i) for i in (body.case_id, *body.children)):
        # Neither the value nor which one: it may be a name typed in the wrong field.
        raise HTTPException(422, f"The case id and each child id must be a {body.authority} "
                                 f"case id (a name is never one): {protocol.case_id_pattern}")
    if not any(holds(as_actor(staff), ref, pathway) for ref in pathway.start_by):
        raise HTTPException(403, f"Only the {who(pathway, pathway.start_by)} may start a "
                                 f"{body.pathway} transfer; you are {staff.role} of {staff.team}")
    now = datetime.now(UTC)
    anchor_at = body.anchor_at or now
    if anchor_at > now + FUTURE_GRACE:
        raise HTTPException(422, f"The start of the clock ({pathway.anchor.title}) cannot be "
                                 "in the future")
    check_anchor_window(anchor_at, pathway.anchor.title)
    check_dates(anchor_at.date(), {"agreed transfer date": body.agreed_transfer_date},
                years=TRANSFER_DATE_YEARS)
    check_dates(anchor_at.date(), {f"key date {k}": d for k, d in body.key_dates.items()},
                years=KEY_DATE_YEARS)
    if body.agreed_transfer_date is not None:
        problem = agreed_date_problem(protocol, body.pathway, anchor_at, body.agreed_transfer_date)
        if problem:
            raise HTTPException(422, problem)
    problem = start_problem(protocol, body.pathway, body.parties, body.key_dates,
                            body.externals, state.addresses)
    if problem:
        raise HTTPException(422, problem)
    check_anchor_age(anchor_at, now, pathway.anchor.title)
    request_id = _reference(state, staff, idempotency_key)
    # The key names the start's Update on the workflow of this case only: registered first
    # in the case store, it cannot start another case as well.
    registered = idempotency_key is not None and await _register_start_key(
        state, staff, idempotency_key, body.case_id)

    async def release() -> None:
        # The start was refused: nothing was started with this key, so it may be used
        # again, for this case or a corrected one. A start that may have happened (a
        # timeout, an unavailable service) keeps it.
        if registered and idempotency_key is not None:
            key = idempotency_key
            await run_in_threadpool(_with_session, state, lambda s: q.release_start_key(
                s, authority=staff.authority, key=key, case_id=body.case_id))

    try:
        opened = await open_transfer(
            state.temporal, task_queue=state.settings.temporal_task_queue, protocol=protocol,
            pathway_id=body.pathway, case_id=body.case_id, children=body.children,
            anchor_at=anchor_at, agreed_transfer_date=body.agreed_transfer_date,
            started_by=as_actor(staff), request_id=request_id, rpc_timeout=UPDATE_TIMEOUT,
            parties=body.parties, key_dates=body.key_dates, externals=body.externals)
    except Exception as exc:  # noqa: BLE001 - mapped to a readable HTTP error
        error = http_error(exc)
        if 400 <= error.status_code < 500:
            await release()
        raise error from exc
    if opened.request_id != request_id:
        await release()
        existing = opened.view
        raise HTTPException(409, f"Case {body.case_id} already has an open transfer "
                                 f"({existing.transfer_id}, stage {existing.stage.value}); act "
                                 "on that one or withdraw it first")
    return opened.view


async def _register_start_key(state: AppState, staff: Staff, key: str, case_id: str) -> bool:
    """Register `key` as the start of `case_id`: True if this request registered it, False
    if it was already registered for this case (a retry, or a concurrent copy, which
    Temporal answers once); refused if it was registered to start another case."""
    first = await run_in_threadpool(_with_session, state, lambda s: q.register_start_key(
        s, authority=staff.authority, key=key, case_id=case_id,
        transfer_id=transfer_id_for(staff.authority, case_id), staff_id=staff.id,
        now=datetime.now(UTC)))
    if first is None:
        return True
    if first.case_id != case_id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"This Idempotency-Key was already used to start the transfer of "
                            f"case {first.case_id} ({first.transfer_id}); use a new key for "
                            "another request")
    return False


def scope(state: AppState, staff: Staff) -> Scope:
    return scope_of(staff.authority, staff.role, staff.team, state.protocols.get(staff.authority))


def load_readable(session: Session, state: AppState, staff: Staff, transfer_id: str,
                  what: str) -> TransferView:
    """The transfer, if the member of staff may read it (api/need_to_know); the read, or
    the refused attempt on a transfer that exists, is recorded either way."""
    row = q.latest_transfer(session, transfer_id)
    if row is None:
        # An attempt on a well-formed id is kept as one on a transfer that exists, so that
        # neither the record nor the time taken tells the two apart.
        if re.match(TRANSFER_ID, transfer_id):
            q.record_read(session, staff=staff, what=what, transfer_id=transfer_id,
                          now=datetime.now(UTC), refused=True)
        raise HTTPException(404, f"No such transfer in {staff.authority}")
    reader = scope(state, staff)
    involved = {row.from_team, row.to_team, row.responsible_team}
    if reader.teams is not None and not reader.teams & involved:
        involved |= q.involves(session, authority=row.authority, transfer_id=transfer_id,
                               teams=reader.teams)
    protocol = state.protocols.get(row.authority)
    pathway = protocol.pathways.get(row.pathway) if protocol else None
    allowed = may_read(reader, row.authority, involved, pathway)
    q.record_read(session, staff=staff, what=what, transfer_id=transfer_id,
                  now=datetime.now(UTC), refused=not allowed)
    if not allowed:
        # Word for word the answer for a transfer that does not exist.
        raise HTTPException(404, f"No such transfer in {staff.authority}")
    return TransferView.model_validate(row.view)


@router.get("/{transfer_id}", response_model=TransferView, responses=error_responses(404))
def get_transfer(transfer_id: TransferId, session: SessionDep, state: StateDep,
                 staff: StaffDep) -> TransferView:
    """Stage, responsible team, gates, deadlines (pending / met / missed), allocated worker.

    Only for staff who need to know (see the work tray); to anyone else the transfer does
    not exist (404)."""
    return load_readable(session, state, staff, transfer_id, "transfer")


@router.get("", response_model=TransferPage)
def list_transfers(
    session: SessionDep, state: StateDep, staff: StaffDep,
    team: Annotated[str | None, Query(max_length=NAME_CHARS,
                                      description="Sending, receiving or responsible team")
                    ] = None,
    stage: Stage | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Work trays, soonest deadline first: the transfers you need to know about.

    Staff who serve the whole authority (Heads of Service listed under the authority,
    Senior Assistant Directors, Directors, IROs, Legal Services, Designated
    Administrators, Business Support, panel Chairs) see all of its transfers. Everyone
    else sees those their team (or, listed under a service, the service's teams) sends,
    receives or holds, has held or been named on, or is named by the pathway to act on."""
    reader = scope(state, staff)
    now = datetime.now(UTC)
    q.record_read(session, staff=staff, what="tray", transfer_id=None, now=now)
    named = pathways_naming(state.protocols.get(staff.authority), reader)
    views, count = q.list_transfers(session, authority=staff.authority, team=team,
                                    stage=stage.value if stage else None, overdue=overdue,
                                    now=now, limit=limit, offset=offset,
                                    readable_by=reader.teams, named_on=named)
    # Each view is the JSON of a TransferView, validated when the worker wrote it: sent
    # as stored rather than parsed, validated and serialised again (a TransferPage still).
    body = f'{{"data":[{",".join(views)}],"count":{count}}}'
    return Response(body.encode(), media_type="application/json")


@router.get("/{transfer_id}/events", response_model=list[EventOut],
            responses=error_responses(404))
def transfer_events(transfer_id: TransferId, session: SessionDep, state: StateDep,
                    staff: StaffDep) -> list[EventOut]:
    """The audit trail: who did what, when, and why (with the notes). Only for staff who
    need to know the transfer (404 to anyone else)."""
    view = load_readable(session, state, staff, transfer_id, "events")
    return trail(session, view)


def trail(session: Session, view: TransferView) -> list[EventOut]:
    """A readable transfer's audit trail, with the notes (the pages show the same)."""
    events = q.transfer_events(session, view.run_id)
    notes = q.notes_for(session, [e.note_ref for e in events if e.note_ref])
    return [EventOut(seq=e.seq, at=q.aware(e.at), kind=e.kind, summary=e.summary, stage=e.stage,
                     actor_id=e.actor_id, actor_role=e.actor_role, actor_team=e.actor_team,
                     note=notes.get(e.note_ref) if e.note_ref else None) for e in events]


@router.post("/{transfer_id}/actions/{action}", response_model=TransferView,
             responses=error_responses(400, 403, 404, 409, 504))
async def act(transfer_id: TransferId,
              action: Annotated[str, Path(pattern=ACTION, max_length=NAME_CHARS,
                                          description="e.g. allocate")],
              state: StateDep, staff: StaffDep,
              body: ActionBody | None = None, idempotency_key: IdempotencyKey = None
              ) -> TransferView:
    """Take one action: a step of the pathway (e.g. `authorise-summary`, `complete-checklist`,
    `record-meeting`, `accept`, `dispute`), `set-transfer-date`, `allocate`, `withdraw`,
    `extend-deadline` / `pause-deadline` / `resume-deadline` (with `deadline`, `until`),
    `acknowledge-dispute` / `resolve-dispute` (with `resolution`, `to_team`), or a
    post-transfer step (e.g. `complete-later-life-letters`). A `note` says why; some
    actions require one. To staff who need not know the transfer it does not exist (404)."""
    return await take_action(state, staff, transfer_id, action, body or ActionBody(),
                             idempotency_key)


async def take_action(state: AppState, staff: Staff, transfer_id: str, action: str,
                      body: ActionBody, idempotency_key: str | None) -> TransferView:
    """One action, by the API's route and by the pages alike: the same reads, checks, note
    and Update; refusals are HTTPExceptions with the readable sentence."""
    view = await run_in_threadpool(
        _with_session, state, lambda s: load_readable(s, state, staff, transfer_id, "action"))
    check_action_dates(action, body, view.anchor_at.date())
    pathway = state.protocols[view.authority].pathways[view.pathway]
    key = _reference(state, staff, idempotency_key)
    text = note_text(body)
    # The ref names the note's words too (a keyed hash): a retry with the same words finds
    # the note it stored; a retry with other words stores its own. Nothing is taken back on
    # a refusal, so no refusal can remove a note an accepted copy of the request refers to;
    # one that no event refers to is purged by the retention schedule (ops/retention).
    note_ref = f"{transfer_id}:{action}:{key}:{_words(state, text)}" if text else None
    if note_ref and text:
        note = text
        await run_in_threadpool(_with_session, state, lambda s: q.save_note(
            s, ref=note_ref, transfer_id=transfer_id, staff_id=staff.id, text=note,
            now=datetime.now(UTC)))
    handle: WorkflowHandle[Any, Any] = state.temporal.get_workflow_handle(
        transfer_id, run_id=view.run_id)
    actor = as_actor(staff)
    try:
        # The key's reference alone is the Update id: a key reused for another action gets
        # the first action's answer back and acts on nothing more.
        return await send_action(handle, action, body, actor, pathway, note_ref, key)
    except Exception as exc:  # noqa: BLE001 - mapped to a readable HTTP error
        error = exc if isinstance(exc, HTTPException) else http_error(exc)
        raise error from exc


def _reference(state: AppState, staff: Staff, key: str | None) -> str:
    """What Temporal sees of the client's key: a keyed hash (api.references), never the key."""
    if key is None:
        return "req-" + uuid.uuid4().hex
    return key_reference(reference_secret(state.settings, state.temporal), staff.authority, key)


def _words(state: AppState, text: str) -> str:
    """A short keyed hash of a note's words: names them without showing or confirming them."""
    return key_reference(reference_secret(state.settings, state.temporal), "note", text)[4:20]


def _with_session(state: AppState, work: Any) -> Any:
    with Session(state.engine) as session:
        return work(session)
