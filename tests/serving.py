"""An app served over real HTTP on this test's event loop, for a browser to reach."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from api.deps import AppState
from api.main import create_app
from config import Settings
from models.protocol_files import load_protocols
from tests.mail import free_port
from tests.pages_helpers import SECRET


@asynccontextmanager
async def serving(app: FastAPI, port: int, lifespan: Literal["on", "off"] = "on"
                  ) -> AsyncIterator[str]:
    """`app` on 127.0.0.1:`port` until the block ends; its base address. On this loop, so
    that it shares the test's (time-skipping) Temporal client."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan=lifespan))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started or task.done():
                break
            await asyncio.sleep(0.025)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def serving_pages(engine: Engine, env: Any, worker: Any) -> AsyncIterator[str]:
    """The whole app, pages included, over real HTTP on a free port of this event loop,
    on the test's time-skipping Temporal (`env`) and `worker`'s task queue."""
    settings = Settings(temporal_task_queue=worker.task_queue, pages_session_secret=SECRET)
    app = create_app(AppState(settings=settings, engine=engine, temporal=env.client,
                              protocols=load_protocols(settings.protocols_dir)))
    async with serving(app, free_port(), lifespan="on") as base:
        yield base


def store_only_app(engine: Engine, settings: Settings | None = None) -> FastAPI:
    """The app on a store alone, for what never reaches Temporal (reports, subject access):
    any use of the Temporal client fails the test."""
    settings = settings or Settings()
    return create_app(AppState(settings=settings, engine=engine,
                               temporal=None,  # type: ignore[arg-type]
                               protocols=load_protocols(settings.protocols_dir)))


@asynccontextmanager
async def store_only_client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on `store_only_app` in process, its lifespan run."""
    app = store_only_app(engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client
