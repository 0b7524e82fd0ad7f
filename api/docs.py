"""The interactive API documentation at /docs, served entirely by the API itself.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script; here
the page, its script, stylesheet and icon all come from this server (the files shipped
by the `fastapi-offline` package), so /docs runs under a self-only Content-Security-Policy
(api/hygiene.py) and asks nothing of another host. Swagger UI's call to the public
validator is switched off too. Off in production unless DOCS_ENABLED says otherwise.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS = "/docs"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{title}}</title>
<link rel="stylesheet" href="{DOCS}/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="{DOCS}/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{DOCS}/assets/swagger-ui-bundle.js"></script>
<script src="{DOCS}/start.js"></script>
</body>
</html>
"""

# In a file of its own: the policy allows no inline script.
START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis]
});
"""


def add_docs(app: FastAPI) -> None:
    """Serve /docs (page, start script, assets) from this server."""
    page = PAGE.replace("{title}", f"{app.title} - API documentation")

    @app.get(DOCS, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{DOCS}/start.js", include_in_schema=False)
    async def start() -> Response:
        return Response(START, media_type="text/javascript")

    app.mount(f"{DOCS}/assets", StaticFiles(directory=ASSETS), name="docs-assets")
