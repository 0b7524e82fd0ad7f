"""The HTTP API managers act through. OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.deps import AppState
from api.docs import add_docs
from api.errors import invalid_request
from api.hygiene import RequestHygiene
from api.routes import codec, notifications, reports, subject_access, transfers
from config import get_settings
from database import make_engine
from models.external_addresses import load_external_addresses
from models.protocol_files import load_protocols
from ops.staff.guard import refuse_demo_staff
from pages.routes import add_pages
from temporal_setup import connect


def create_app(state: AppState | None = None) -> FastAPI:
    """The app; tests pass a ready `state`, otherwise it is built from settings at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state is not None:
            app.state.caseflow = state
            yield
            return
        settings = get_settings()
        protocols = load_protocols(settings.protocols_dir)
        engine = make_engine(settings.database_url)
        try:
            refuse_demo_staff(settings, engine)
        except Exception:
            engine.dispose()
            raise
        client = await connect(settings)
        addresses = load_external_addresses(settings.external_addresses_file)
        app.state.caseflow = AppState(settings=settings, engine=engine, temporal=client,
                                      protocols=protocols, addresses=addresses)
        yield
        engine.dispose()

    settings = state.settings if state is not None else get_settings()
    app = FastAPI(
        title="Case transfers",
        description="Start and act on transfers of children's cases between teams. "
                    "Sign in (Authorize, top right) with an access token from the council's "
                    "identity provider, or with an API token.",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own pages load their scripts from a CDN: api/docs.py serves /docs here.
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
    )
    if settings.docs_on:
        add_docs(app)
    app.add_middleware(RequestHygiene, max_body_bytes=settings.max_body_bytes)
    # Outermost: a browser's preflight is answered before the body limit or sign-in.
    app.add_middleware(codec.CodecCors, origins=settings.codec_cors_origins)
    app.include_router(transfers.router)
    app.include_router(notifications.router)
    app.include_router(subject_access.router)
    app.include_router(reports.router)
    app.include_router(codec.router)
    if settings.pages_enabled:
        add_pages(app, settings)

    async def _store_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "The case store is unavailable; try again shortly"},
                            status_code=503)

    # Unreachable, or every pooled connection busy: both are "try again", never a 500.
    app.add_exception_handler(OperationalError, _store_unavailable)
    app.add_exception_handler(PoolTimeout, _store_unavailable)
    # A request that does not match the schema: a sentence in `detail` like every other
    # refusal (errors.ErrorBody), each field's problem in `errors`.
    app.add_exception_handler(RequestValidationError, invalid_request)

    return app


app = create_app()
