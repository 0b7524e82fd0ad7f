"""Actions on a transfer from its page: the forms, and their posting through the API's path.

A form is posted with the session's CSRF token and an Idempotency-Key made when the form was
rendered, then taken by api.routes.transfers.take_action, the same function the API's `act`
route calls: the same need-to-know read, date checks, note in the case store and workflow
Update. A second copy of the same rendered form carries the same key and so acts once.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.actions import ActionBody
from api.deps import AppState, get_state
from api.errors import invalid_request_body
from api.limits import ID_CHARS
from api.references import IDEMPOTENCY_KEY
from api.routes.transfers import ACTION, load_readable, take_action
from models.tables import Staff
from models.transfer import TransferView
from pages.action_forms import ActionForm, actions_context, new_key
from pages.routes import _bad_form, _refused, _render, signed_in_or_answer
from pages.session import CSRF_FIELD, csrf_ok

router = APIRouter(prefix="/pages", include_in_schema=False)
KEY_FIELD = "idempotency_key"
DATE_FIELDS = ("date", "transfer_date", "until")
LISTS = ("items", "attendees")
SINGLE = ("worker_id", "deadline", "key_date", "resolution", "team", "to_team", "note")


class FormProblem(Exception):
    pass


async def _fields(request: Request) -> dict[str, list[str]]:
    """Every value of each field (checkboxes repeat their name); the body is bounded."""
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return {}
    return parse_qs((await request.body()).decode("utf-8", "replace"))


def _date(fields: dict[str, list[str]], name: str) -> date | None:
    parts = [(fields.get(f"{name}-{p}") or [""])[0].strip() for p in ("day", "month", "year")]
    if not any(parts):
        return None
    if not all(p.isdigit() and len(p) <= 4 for p in parts):
        raise FormProblem("Enter the date as numbers: day, month and year")
    day, month, year = (int(p) for p in parts)
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise FormProblem("Enter a real date, for example 27 3 2027") from exc


def body_of(fields: dict[str, list[str]]) -> ActionBody:
    """The API's request body from the form's fields; a problem in words, as the API's."""
    data: dict[str, Any] = {name: fields.get(name, []) for name in LISTS}
    for name in SINGLE:
        value = (fields.get(name) or [""])[0].strip()
        if value:
            data[name] = value
    reasons = {}
    for item in fields.get("not_applicable", []):
        why = (fields.get(f"reason-{item}") or [""])[0].strip()
        if not why:
            raise FormProblem(f"Give the reason {item.replace('_', ' ')} is not applicable")
        reasons[item] = why
    data["not_applicable"] = reasons
    for name in DATE_FIELDS:
        found = _date(fields, name)
        if found is not None:
            data[name] = found
    try:
        return ActionBody.model_validate(data)
    except ValidationError as exc:
        raise FormProblem(invalid_request_body(exc.errors(include_input=False))["detail"]
                          ) from exc


@router.post("/transfers/{transfer_id}/actions/{action}", response_model=None)
async def post_action(request: Request, transfer_id: str, action: str) -> Response:
    state = get_state(request)
    signed = signed_in_or_answer(request, state)
    if isinstance(signed, Response):
        return signed
    session, staff = signed
    fields = await _fields(request)
    key = (fields.get(KEY_FIELD) or [""])[0]
    if not csrf_ok(session, (fields.get(CSRF_FIELD) or [""])[0]) or not re.match(
            IDEMPOTENCY_KEY, key):
        return _bad_form(request, session)
    if not re.match(ACTION, action) or len(transfer_id) > ID_CHARS:
        return _refused(request, session, staff, f"No such transfer in {staff.authority}", 404)
    try:
        await take_action(state, staff, transfer_id, action, body_of(fields), key)
    except FormProblem as problem:
        message, code = str(problem), 422
    except HTTPException as exc:
        message, code = str(exc.detail), exc.status_code
    else:
        return RedirectResponse(f"/pages/transfers/{transfer_id}?done={action}",
                                status_code=303)
    if code == 404:  # to anyone who need not know, the transfer does not exist
        return _render(request, "not_found.html", 404, session=session, staff=staff,
                       message=message)
    form = await _form_again(state, staff, transfer_id, action)
    return _render(request, "action.html", code, session=session, staff=staff,
                   transfer_id=transfer_id, form=form, message=message, new_key=new_key,
                   sent=fields)


async def _form_again(state: AppState, staff: Staff, transfer_id: str, action: str
                      ) -> ActionForm | None:
    """The refused form, offered again when the member of staff may still take it."""
    def read() -> TransferView:
        with Session(state.engine) as db:
            return load_readable(db, state, staff, transfer_id, "transfer")

    try:
        view = await run_in_threadpool(read)
    except HTTPException:
        return None
    forms = actions_context(state, staff, view, "")["actions"]
    return next((f for f in forms if f.action == action), None)
