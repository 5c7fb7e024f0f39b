"""The interactive reference at ``/v1/docs``, served without the internet.

FastAPI's default Swagger UI page loads its script, stylesheet and favicon from CDNs, so it
is a blank page offline. Here the page points at two files the management API serves
itself, from the ``fastapi-offline`` package (pinned in pyproject.toml: it ships Swagger UI
5's ``swagger-ui-bundle.js`` and ``swagger-ui.css``; only its static files are used). The
favicon is inline and the online validator badge is off, so the page makes no request to
any other host.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

DOCS_URL = "/v1/docs"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
# The files change only with the pinned package: cache a day (the page itself is no-store).
ASSET_CACHE = "public, max-age=86400"


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI, openapi_url: str) -> None:
    """``GET /v1/docs`` and ``GET /v1/docs/assets/<file>``, left out of the document."""
    folder = assets_dir()

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")  # as FastAPI's own page
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_URL}/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_URL}/assets/swagger-ui.css",
            swagger_favicon_url="data:,",
            swagger_ui_parameters={"validatorUrl": None},
        )

    for name, media_type in ASSETS.items():
        app.add_api_route(f"{DOCS_URL}/assets/{name}", _asset(folder / name, media_type),
                          methods=["GET"], include_in_schema=False)


def _asset(path: Path, media_type: str) -> Callable[[], FileResponse]:
    def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": ASSET_CACHE})

    return asset
