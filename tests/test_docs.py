"""/docs is served by the API itself under a self-only policy, and is off in production."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any, cast

import httpx
from temporalio.client import Client

from api.deps import AppState
from api.main import create_app
from config import Settings
from tests.converter import TEST_PAYLOAD_KEYS

PRODUCTION: dict[str, Any] = {"environment": "production",
                              "database_url": "postgresql://caseflow@db/caseflow",
                              "temporal_insecure_ok": True, "smtp_starttls": True,
                              "payload_keys": TEST_PAYLOAD_KEYS,
                              # About /docs: the pages and their sign-in are not served.
                              "pages_enabled": False}


@asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(AppState(settings=settings, engine=cast(Any, None),
                              temporal=cast(Client, None), protocols={}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


class Page(HTMLParser):
    """Every URL the page refers to, and the text of any inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in {"src", "href", "action"} and v]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


async def test_docs_load_nothing_from_another_host():
    async with api(Settings()) as client:
        response = await client.get("/docs")
        assert response.status_code == 200
        page = Page()
        page.feed(response.text)
        assert page.inline == []  # the policy allows no inline script
        assert page.urls, "the page refers to its assets"
        for url in page.urls:
            assert url.startswith("/") and not url.startswith("//"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
        start = (await client.get("/docs/start.js")).text
        assert "validatorUrl: null" in start  # no call to the public validator
        assert not re.search(r"https?:|//[a-z]", start)
        assert (await client.get("/openapi.json")).status_code == 200

        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy
        assert "connect-src 'self';" in policy and "frame-ancestors 'none'" in policy
        assert not re.search(r"https?:|\*|unsafe-", policy)
        # Everything else keeps the strictest policy.
        assert (await client.get("/openapi.json")).headers["content-security-policy"] == \
            "default-src 'none'; frame-ancestors 'none'"
        for path in ("/redoc", "/docs/oauth2-redirect", "/docs/assets/../../config.py"):
            assert (await client.get(path)).status_code == 404, path


async def test_docs_are_off_in_production_unless_asked_for():
    async with api(Settings(**PRODUCTION)) as client:
        for path in ("/docs", "/docs/start.js", "/docs/assets/swagger-ui-bundle.js"):
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/openapi.json")).status_code == 200  # the contract stays
    async with api(Settings(**PRODUCTION, docs_enabled=True)) as client:
        assert (await client.get("/docs")).status_code == 200
    async with api(Settings(docs_enabled=False)) as client:
        assert (await client.get("/docs")).status_code == 404
