"""The codec server: lets a signed-in senior manager's Temporal UI show decrypted payloads.

Temporal's codec server protocol: POST `/codec/decode` (and `/codec/encode`) with
`{"payloads": [{"metadata": {...}, "data": "..."}]}`, the Payloads message in protobuf JSON
(bytes as base64), answered in the same shape. The UI sends `X-Namespace`, and with
"pass access token" on, `Authorization: Bearer <token>`; only the answer's origin is
allowed cross-origin (`CODEC_CORS_ORIGINS`, see `codec_cors`).

Who may decode: a payload holds case and child ids, team codes and actions of any
authority sharing the namespace, and no personal data by design; still, only the senior
managers who look into a stuck or escalated transfer may read them (`CODEC_ROLES`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from sqlmodel import Session
from starlette.middleware.cors import CORSMiddleware
from temporalio.api.common.v1 import Payloads

from api import store_queries as q
from api.deps import StateDep, bearer, current_staff, signed_in
from api.errors import EVERY_ROUTE, error_responses
from api.hygiene import ASGIApp, Receive, Scope, Send
from models.protocol import Role
from models.tables import Staff
from payload_codec import EncryptionCodec, PayloadDecryptionError

router = APIRouter(prefix="/codec", tags=["operators"], responses=EVERY_ROUTE)
CODEC_ROLES = frozenset({Role.service_manager, Role.head_of_service,
                         Role.senior_assistant_director, Role.director})
PAYLOADS_EXAMPLE = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="},
                                  "data": "..."}]}


async def _payloads(request: Request) -> Payloads:
    try:
        body = json.loads(await request.body())
        if not isinstance(body, dict):
            raise TypeError("not an object")
        return json_format.ParseDict(body, Payloads())
    # JSONDecodeError and UnicodeDecodeError are ValueErrors; deep nesting, RecursionError
    except (ValueError, TypeError, RecursionError, json_format.Error) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            'Send {"payloads": [...]}: Temporal Payloads as protobuf JSON, '
                            "metadata values and data in base64") from exc


def codec_staff(request: Request, state: StateDep,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
                ) -> Staff:
    """Who asks to decode: the signed-in member of staff; in development only, a request
    without a token from the Temporal UI's origin is the development operator's, as the
    dev server's UI has no sign-in and cannot pass a token (settings refuse it in
    production)."""
    operator = state.settings.codec_development_operator
    origin = request.headers.get("origin")
    if (credentials is None and operator and state.settings.environment == "development"
            and origin in state.settings.codec_cors_origins):
        with Session(state.engine, expire_on_commit=False) as session:
            staff = session.get(Staff, operator)
        if staff is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                "CODEC_DEVELOPMENT_OPERATOR names nobody in the directory")
        return signed_in(staff)
    return current_staff(request, state, credentials)


CodecStaff = Annotated[Staff, Depends(codec_staff)]


def _codec(state: StateDep, staff: Staff) -> EncryptionCodec:
    if staff.role not in CODEC_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "Only a service manager, head of service, senior assistant "
                            f"director or director may decode payloads; you are {staff.role}")
    codec = state.temporal.data_converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "This API's Temporal client encrypts nothing; there is nothing "
                            "to decode")
    # A decode shows an operator what a transfer's history holds: a read like any other.
    with Session(state.engine) as session:
        q.record_read(session, staff=staff, what="codec", transfer_id=None,
                      now=datetime.now(UTC))
    return codec


def _answer(payloads: list[Any]) -> JSONResponse:
    return JSONResponse(json_format.MessageToDict(Payloads(payloads=payloads)))


@router.post("/decode", responses=error_responses(403),
             openapi_extra={"requestBody": {"content": {"application/json": {
                 "example": PAYLOADS_EXAMPLE}}}})
async def decode(request: Request, state: StateDep, staff: CodecStaff) -> JSONResponse:
    """Decrypt payloads for the Temporal UI (codec server protocol). Payloads this system
    did not encrypt come back unchanged; one it cannot decrypt is refused (422)."""
    codec = _codec(state, staff)
    body = await _payloads(request)
    try:
        return _answer(await codec.decode(list(body.payloads)))
    except PayloadDecryptionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


@router.post("/encode", responses=error_responses(403),
             openapi_extra={"requestBody": {"content": {"application/json": {
                 "example": PAYLOADS_EXAMPLE}}}})
async def encode(request: Request, state: StateDep, staff: CodecStaff) -> JSONResponse:
    """Encrypt payloads (e.g. a signal's input typed in the Temporal UI) with the current key."""
    codec = _codec(state, staff)
    return _answer(await codec.encode(list((await _payloads(request)).payloads)))


class CodecCors:
    """CORS for /codec/ only: the Temporal UI's origins may call it; no other route is
    opened to another origin."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["POST"],
                                   allow_headers=["Content-Type", "X-Namespace",
                                                  "Authorization"],
                                   allow_credentials=True, max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith("/codec/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
