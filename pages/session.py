"""The pages' session: a signed cookie holding the signed-in staff id and a CSRF token.

The cookie is signed (itsdangerous), not encrypted: it holds a staff id and a random token,
nothing about a child. Every POST form carries the session's CSRF token, compared here in
constant time; the token is replaced at each sign-in so one seen before cannot be reused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from config import Settings, kept_secret

COOKIE = "caseflow_pages"
PATH = "/pages"
SALT = "caseflow-pages-session"
CSRF_FIELD = "csrf_token"


class SessionSecretMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class PageSession:
    csrf: str
    staff_id: str | None = None


def session_secret(settings: Settings) -> str:
    """The configured secret; in development without one, the kept development secret."""
    configured = settings.pages_session_secret.get_secret_value().strip()
    if configured:
        return configured
    if settings.environment == "production":
        raise SessionSecretMissing("production needs PAGES_SESSION_SECRET to sign the pages' "
                                   "session cookie")
    return kept_secret(settings.pages_session_key_file, lambda: secrets.token_urlsafe(48))


class Sessions:
    def __init__(self, settings: Settings) -> None:
        self.serializer = URLSafeTimedSerializer(session_secret(settings), salt=SALT)
        self.max_age = settings.pages_session_hours * 3600
        self.secure = settings.environment == "production"

    def read(self, request: Request) -> PageSession | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data = self.serializer.loads(raw, max_age=self.max_age)
        except BadSignature:  # forged, altered or expired: as if there were none
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        staff = data.get("staff")
        return PageSession(csrf=data["csrf"], staff_id=staff if isinstance(staff, str) else None)

    def write(self, response: Response, session: PageSession) -> None:
        value = self.serializer.dumps({"csrf": session.csrf, "staff": session.staff_id})
        response.set_cookie(COOKIE, value, max_age=self.max_age, path=PATH, httponly=True,
                            samesite="lax", secure=self.secure)

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax",
                               secure=self.secure)


def new_session(staff_id: str | None = None) -> PageSession:
    return PageSession(csrf=secrets.token_urlsafe(32), staff_id=staff_id)


def csrf_ok(session: PageSession | None, sent: str | None) -> bool:
    if session is None or not sent:
        return False
    return hmac.compare_digest(session.csrf.encode(), sent.encode())
