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
from pages.form_errors import (
    DateProblem,
    Problems,
    action_summary,
    check_action,
    field_for,
    in_words,
    one,
    parse_date,
    pydantic_field,
    pydantic_words,
)
from pages.routes import _bad_form, _refused, _render, signed_in_or_answer
from pages.session import CSRF_FIELD, csrf_ok

router = APIRouter(prefix="/pages", include_in_schema=False)
KEY_FIELD = "idempotency_key"
DATE_FIELDS = ("date", "transfer_date", "until")
LISTS = ("items", "attendees")
SINGLE = ("worker_id", "deadline", "key_date", "resolution", "team", "to_team", "note")


class FormProblem(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


async def _fields(request: Request) -> dict[str, list[str]]:
    """Every value of each field (checkboxes repeat their name); the body is bounded."""
    if request.headers.get("content-type", "").split(";")[0].strip() != \
            "application/x-www-form-urlencoded":
        return {}
    return parse_qs((await request.body()).decode("utf-8", "replace"))


def _date(fields: dict[str, list[str]], name: str) -> date | None:
    try:
        return parse_date(fields, name)
    except DateProblem as problem:
        raise FormProblem(str(problem), name) from problem


def body_of(fields: dict[str, list[str]]) -> ActionBody:
    """The API's request body from the form's fields; a problem in words, as the API's."""
    problems = check_action(None, fields, DATE_FIELDS)
    if problems.fields:
        key, message = next(iter(problems.fields.items()))
        raise FormProblem(message, key)
    data: dict[str, Any] = {name: fields.get(name, []) for name in LISTS}
    for name in SINGLE:
        value = one(fields, name)
        if value:
            data[name] = value
    data["not_applicable"] = {item: one(fields, f"reason-{item}")
                              for item in fields.get("not_applicable", [])}
    for name in DATE_FIELDS:
        found = _date(fields, name)
        if found is not None:
            data[name] = found
    try:
        return ActionBody.model_validate(data)
    except ValidationError as exc:
        errors = list(exc.errors(include_input=False))
        raise FormProblem(pydantic_words(errors) or invalid_request_body(errors)["detail"],
                          pydantic_field(errors)) from exc


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
    form = await _form_again(state, staff, transfer_id, action)
    # Not offered: nothing to show problems beside; the API says why (body_of first).
    problems = check_action(form, fields, DATE_FIELDS) if form else Problems()
    if not problems:
        try:
            await take_action(state, staff, transfer_id, action, body_of(fields), key)
        except FormProblem as problem:
            code, problems = 422, _placed(form, str(problem), problem.field)
        except HTTPException as exc:
            if exc.status_code == 404:  # to anyone who need not know, it does not exist
                return _render(request, "not_found.html", 404, session=session, staff=staff,
                               message=str(exc.detail))
            code, detail = exc.status_code, str(exc.detail)
            if code == 422:  # bad input: beside its field, when the sentence names one
                problems = _placed(form, detail, field_for(form, detail))
            else:  # a rule's refusal: the form again only if it is still offered
                problems = Problems(refusal=in_words(form, detail))
                form = await _form_again(state, staff, transfer_id, action)
        else:
            return RedirectResponse(f"/pages/transfers/{transfer_id}?done={action}",
                                    status_code=303)
    else:
        code = 422
    return _render(request, "action.html", code, session=session, staff=staff,
                   transfer_id=transfer_id, form=form, problems=problems,
                   summary=action_summary(form, problems), new_key=new_key, sent=fields,
                   note=one(fields, "note"))


def _placed(form: ActionForm | None, message: str, key: str | None) -> Problems:
    """One problem, beside its field when the form has that field, else the form's."""
    message = in_words(form, message)
    if form is not None and key is not None and (
            key in {f.name for f in form.fields} or key.startswith("reason-")):
        return Problems(fields={key: message})
    return Problems(refusal=message)


async def _form_again(state: AppState, staff: Staff, transfer_id: str, action: str
                      ) -> ActionForm | None:
    """The form, as offered now, when the member of staff may still take it."""
    def read() -> TransferView:
        with Session(state.engine) as db:
            return load_readable(db, state, staff, transfer_id, "transfer")

    try:
        view = await run_in_threadpool(read)
    except HTTPException:
        return None
    forms = actions_context(state, staff, view, "")["actions"]
    return next((f for f in forms if f.action == action), None)
