"""The outermost layer of the API: a body-size limit enforced before anything parses the
body (or checks the token), and security headers on every response.

Plain ASGI: a body with a Content-Length is judged by it and passed on untouched; one sent
without (chunked) is read here up to the limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# JSON answers hold case identifiers: never cached, sniffed, framed or sent with a referrer.
HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# The interactive documentation (api/docs.py): its page, script and stylesheet from this
# server only, no inline script; its icons are data: images within its stylesheet.
DOCS_CSP = (b"content-security-policy",
            b"default-src 'none'; script-src 'self'; style-src 'self'; "
            b"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
            b"frame-ancestors 'none'")
DOCS = "/docs"
# The managers' pages (pages/) and GOV.UK Frontend's files: scripts (as files, no inline
# script), styles, fonts and images from this server only; forms post back to it alone.
# img-src also takes data: for the charts (pages/figures), SVG images written into the page:
# an image document runs no script and its own inline styles stay inside it, whereas the
# same SVG inline would need style-src 'unsafe-inline' for the whole page.
PAGES_CSP = (b"content-security-policy",
             b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             b"font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
             b"frame-ancestors 'none'")
PAGES = ("/pages", "/assets")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(f"{prefix}/")


class RequestHygiene:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        csp = (DOCS_CSP if _under(path, DOCS)
               else PAGES_CSP if any(_under(path, p) for p in PAGES) else CSP)
        extra = [*HEADERS, csp]

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in extra if h[0] not in present)]
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit()
                                     or int(declared) > self.max_body_bytes):
            await self._too_large(send_secured)
            return
        receive_body = receive
        if declared is None:
            # A body sent without a length (chunked): read it here, up to the limit, and
            # hand it on as read; the app never sees more than the limit.
            chunks: list[Message] = []
            size, more = 0, True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    chunks.append(message)
                    break
                size += len(message.get("body", b""))
                if size > self.max_body_bytes:
                    await self._too_large(send_secured)
                    return
                chunks.append(message)
                more = bool(message.get("more_body"))
            queued = iter(chunks)

            async def receive_read() -> Message:
                return next(queued, None) or await receive()

            receive_body = receive_read
        await self.app(scope, receive_body, send_secured)

    async def _too_large(self, send: Send) -> None:
        body = json.dumps({"detail": f"The request is too large: at most "
                                     f"{self.max_body_bytes} bytes are accepted"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
