"""An app served over real HTTP on this test's event loop, for a browser to reach."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import uvicorn
from fastapi import FastAPI


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
