"""The web app of ``nnbp serve``: the page's files and the JSON API, on Starlette.

    GET  /                  the page (static/index.html; its scripts and styles under /static/)
    POST /api/predict       an image file's bytes, or a JSON array of pixels (see predict.py);
                            ?run=NAME picks the run (default: the served one), ?name= the
                            record's path
    GET  /api/runs          the runs beside the served one (catalog.py)
    GET  /api/runs/<name>   one run: network, config, metrics rows, test confusion and errors

Every error is answered as JSON ``{"error": "..."}``: 400 for a bad body or image, 404
for an unknown run or path, 413 for a body over ``MAX_BODY``; a bug answers 500 and the
server goes on. The work runs in threads (the network's feedforward allocates its own
buffers per call, so concurrent predictions share nothing they write).
"""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nnbp.errors import DataError, NnbpError, RequestError
from nnbp.serve.catalog import Catalog
from nnbp.serve.predict import MAX_BODY, answer

STATIC = Path(__file__).with_name("static")
# Predictions computed at once: the work is CPU-bound (more threads would only share the
# cores), and preparing a large photo can take a few hundred MB while it runs.
PREDICT_SLOTS = 4
# Everything the page needs comes from this server: nothing is loaded from elsewhere.
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:;"
     b" object-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]  # fmt: skip


def create_app(catalog: Catalog, *, loopback_only: bool = True) -> Starlette:
    """The ASGI app serving ``catalog``'s runs; ``loopback_only`` refuses requests whose
    Host header is not a loopback name (see ``Guard``)."""
    slots = threading.BoundedSemaphore(PREDICT_SLOTS)

    def predict_now(run: str | None, body: bytes, content_type: str, name: str | None) -> Any:
        with slots:
            return answer(catalog.model(run), body, content_type, name)

    async def index(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def predict(request: Request) -> JSONResponse:
        body = await read_body(request)
        q = request.query_params
        content_type = request.headers.get("content-type", "")
        result = await run_in_threadpool(
            predict_now, q.get("run"), body, content_type, q.get("name")
        )
        return JSONResponse(result)

    async def run_list(request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(catalog.listing))

    async def run_details(request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(catalog.details, request.path_params["name"]))

    routes = [
        Route("/", index),
        Route("/api/predict", predict, methods=["POST"]),
        Route("/api/runs", run_list),
        Route("/api/runs/{name}", run_details),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    handlers: Any = {NnbpError: error_answer, HTTPException: error_answer, Exception: bug_answer}
    guard = Middleware(Guard, loopback_only=loopback_only)
    return Starlette(routes=routes, exception_handlers=handlers, middleware=[guard])


async def read_body(request: Request) -> bytes:
    """The request's body; a 413 RequestError as soon as it passes ``MAX_BODY`` bytes."""
    too_large = RequestError(f"request body over the limit of {MAX_BODY} bytes", status=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_large
    return bytes(body)


async def error_answer(request: Request, exc: Exception) -> JSONResponse:
    """``{"error": message}`` with the status the error calls for."""
    if isinstance(exc, HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    if isinstance(exc, RequestError):
        status = exc.status
    else:  # a bad image or input is the request's fault; a broken run file the server's
        status = 400 if isinstance(exc, DataError) else 500
    return JSONResponse({"error": str(exc)}, status_code=status)


async def bug_answer(request: Request, exc: Exception) -> JSONResponse:
    """A 500 for a bug; the traceback goes to the server's log (uvicorn's, on stderr)."""
    message = f"internal error ({type(exc).__name__}); the server's log has the traceback"
    return JSONResponse({"error": message}, status_code=500)


class Guard:
    """ASGI middleware: security headers on every answer, and, with ``loopback_only``, a
    400 for a Host header that is not a loopback name, so that a web page elsewhere
    cannot reach the server by pointing its own host name at 127.0.0.1 (DNS rebinding)."""

    def __init__(self, app: ASGIApp, loopback_only: bool) -> None:
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if self.loopback_only and not is_loopback(host_name(host)):
            refused = {"error": f"Host {host!r} refused: this server answers loopback names"
                       " only (nnbp serve --host serves others)"}  # fmt: skip
            await JSONResponse(refused, status_code=400)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def host_name(host: str) -> str:
    """The name of a Host header or a --host value, without its port or IPv6 brackets."""
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(name: str) -> bool:
    """Whether ``name`` (a host name or an address) stays on this machine."""
    if name.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
