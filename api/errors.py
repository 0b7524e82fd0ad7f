"""Refusals a manager can read: Temporal's answers as HTTP answers, and one error body.

Every refusal the API sends is an `ErrorBody`: `detail`, a sentence for a person. A
request that does not match the schema (FastAPI's validation) also lists each field's
problem in `errors`. The OpenAPI document declares this body for every refusal a route
can send (`error_responses`), so a client can read every answer from the schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from models.transfer import IDENTIFIER

REJECTION_STATUS = {
    "WrongStage": status.HTTP_409_CONFLICT,
    "NotPermitted": status.HTTP_403_FORBIDDEN,
    "InvalidInput": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "AcceptedUpdateCompletedWorkflow": status.HTTP_409_CONFLICT,
}


class FieldError(BaseModel):
    """One part of a request that does not match the schema."""

    loc: list[str | int] = Field(description="Where: `body`, `query`, `path` or `header`, "
                                             "then the field", examples=[["body", "case_id"]])
    msg: str = Field(examples=[f"String should match pattern '{IDENTIFIER}'"])
    type: str = Field(examples=["string_pattern_mismatch"])


class ErrorBody(BaseModel):
    """A refusal: why, in words a manager can read."""

    detail: str = Field(examples=["Only the Team Manager of sgcp may start a sgcp-to-lac "
                                  "transfer; you are social_worker of sgcp"])
    errors: list[FieldError] = Field(
        default_factory=list, description="Only when the request does not match the schema (422): "
                                  "each field's problem")


WHEN = {
    status.HTTP_400_BAD_REQUEST: "The request body could not be read (e.g. it is not "
                                 "UTF-8 text)",
    status.HTTP_401_UNAUTHORIZED: "Not signed in, or the token is not recognised: an API "
                                  "token unknown, revoked or expired; an identity "
                                  "provider's access token that does not verify, or whose "
                                  "subject is not in the staff directory",
    status.HTTP_403_FORBIDDEN: "Not yours to do: another authority's case, or another "
                               "role's or team's step; or you have been deactivated in "
                               "the staff directory",
    status.HTTP_404_NOT_FOUND: "No such transfer in your authority",
    status.HTTP_409_CONFLICT: "Not now: the transfer's stage does not allow it, the case "
                              "already has an open transfer, or the transfer is closed",
    status.HTTP_422_UNPROCESSABLE_CONTENT: "The request cannot be used: a field that does not "
                                           "match the schema (listed in `errors`), a value the "
                                           "protocol refuses, or an Idempotency-Key already "
                                           "used for another request",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many failed sign-ins from this address: wait "
                                       "the seconds in Retry-After",
    status.HTTP_503_SERVICE_UNAVAILABLE: "The case store, the workflow service or the "
                                         "identity provider is unavailable; try again shortly",
    status.HTTP_504_GATEWAY_TIMEOUT: "The transfer did not answer in time; send the same "
                                     "request again with the same Idempotency-Key",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring `ErrorBody` for these statuses."""
    return {code: {"model": ErrorBody, "description": WHEN[code]} for code in codes}


# Every route: its token is checked, its parameters validated, the case store read.
EVERY_ROUTE = error_responses(status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN,
                              status.HTTP_422_UNPROCESSABLE_CONTENT,
                              status.HTTP_429_TOO_MANY_REQUESTS,
                              status.HTTP_503_SERVICE_UNAVAILABLE)

_PLACES = {"body": "in the body", "query": "query parameter", "path": "in the path",
           "header": "header", "cookie": "cookie"}
_SHOWN = 3


def _where(loc: Sequence[str | int]) -> str:
    place, *field = loc or ["body"]
    name = ""
    for part in field:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    if not name or name.startswith("["):
        return f"the request {place}" if place in _PLACES else "the request"
    if place in ("query", "header", "cookie"):
        return f"{_PLACES[place]} {name}"
    return f"{name} {_PLACES.get(str(place), '')}".rstrip()


def _problem(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "not valid"))
    reason = (error.get("ctx") or {}).get("error")
    if error.get("type") == "json_invalid" and reason:
        message += f" ({reason})"
    return f"{_where(error.get('loc', ()))}: {message}"


def invalid_request_body(errors: Sequence[Any]) -> dict[str, Any]:
    """FastAPI's validation errors as an `ErrorBody`: a sentence naming the first few
    problems, and every problem in `errors` (without the input sent, which may be long)."""
    found = [e for e in errors if isinstance(e, dict)]
    problems = [_problem(e) for e in found[:_SHOWN]]
    if len(found) > _SHOWN:
        problems.append(f"and {len(found) - _SHOWN} more (see errors)")
    detail = "The request is not valid: " + ("; ".join(problems) or "check it against /docs")
    listed = [FieldError(loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                         msg=str(e.get("msg", "")), type=str(e.get("type", "")))
              for e in found]
    return ErrorBody(detail=detail, errors=listed).model_dump(mode="json")


async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(invalid_request_body(exc.errors()),
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def http_error(exc: Exception) -> HTTPException:
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in REJECTION_STATUS:
            return HTTPException(REJECTION_STATUS[cause.type], cause.message)
        return HTTPException(status.HTTP_409_CONFLICT,
                             f"The action was not taken: {getattr(cause, 'message', cause)}")
    if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError):
        return HTTPException(status.HTTP_504_GATEWAY_TIMEOUT,
                             "The transfer did not answer in time. Send the same request again "
                             "with the same Idempotency-Key: it will act at most once.")
    if isinstance(exc, RPCError):
        if exc.status is RPCStatusCode.NOT_FOUND:
            return HTTPException(status.HTTP_409_CONFLICT,
                                 "This transfer is closed: no more actions can be taken on it")
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                             "The workflow service is unavailable; try again shortly")
    raise exc
