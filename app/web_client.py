"""The reference shop client: static files under `/app/`, sent under a strict policy.

The client is plain JavaScript modules, HTML and CSS in `app/static/app/`, with
no build step. Every file it is made of is sent with a Content-Security-Policy
that allows only this origin (no inline script, no third party), and with no
Referer ever leaving the page: the reset screen holds a secret token.
"""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CLIENT_DIRECTORY = Path(__file__).parent / "static" / "app"
CLIENT_PATH = "/app"

_POLICY_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    # Forms are sent by script; a native submission would put a password in a URL.
    "form-action 'none'",
    "frame-ancestors 'none'",
)
CONTENT_SECURITY_POLICY = "; ".join(_POLICY_DIRECTIVES)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class ClientFiles(StaticFiles):
    """Static files with the client's security headers; revalidated on each use."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        # An ETag answers "not modified" cheaply; a deploy is picked up at once.
        response.headers["Cache-Control"] = "no-cache"
        return response


def client_page() -> FileResponse:
    """The client's single page, for a path outside `/app/` that opens a screen."""
    return FileResponse(
        CLIENT_DIRECTORY / "index.html",
        media_type="text/html",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )


def mount_client(app: FastAPI) -> None:
    """Serve the client at `/app/`; `/app` without the slash redirects there."""

    async def to_client(_request: Request) -> RedirectResponse:
        return RedirectResponse(f"{CLIENT_PATH}/", status_code=308)

    # A plain route: a page, not part of the API (no schema, no slash twin).
    app.add_route(
        CLIENT_PATH, to_client, methods=["GET", "HEAD"], include_in_schema=False
    )
    app.mount(
        CLIENT_PATH, ClientFiles(directory=CLIENT_DIRECTORY, html=True), name="client"
    )
