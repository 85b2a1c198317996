"""GET /docs: the API's reference (Swagger UI) from files installed with the package, so it works offline.

FastAPI's own /docs and /redoc load their scripts from a CDN: blank without internet, and a third-party request
on any site that serves Majakka. Here the same page takes Swagger UI 5 (which reads OpenAPI 3.1, as FastAPI writes
it) from the files of ``fastapi-offline``, a PyPI package that ships them, under /docs/assets; ReDoc is not served.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

ASSETS = "/docs/assets"
# Only our own origin; Swagger UI's start-up script is inline (FastAPI writes it), its styles set inline too.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


@router.get("/docs")
def docs() -> HTMLResponse:
    """Serve the interactive API reference, from local assets."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Majakka API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )
    page.headers["content-security-policy"] = DOCS_CSP
    return page


def mount_docs(app: FastAPI) -> None:
    """Serve /docs and its assets on ``app`` (built with ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")
    app.include_router(router)
