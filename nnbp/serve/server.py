"""Running the app: bind the socket, serve with uvicorn until Ctrl-C, shut down cleanly."""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING

from nnbp.errors import UsageError
from nnbp.serve.app import create_app, is_loopback
from nnbp.serve.catalog import Catalog

if TYPE_CHECKING:
    import uvicorn

# Seconds the open requests get to finish after Ctrl-C before their connections close.
GRACE = 5


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port), port 0 meaning any free port; a UsageError
    naming them when it cannot be had (in use, no such address, not allowed)."""
    sock = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
        # Made with its protocol named, asyncio turns Nagle's algorithm off on each
        # connection (TCP_NODELAY); otherwise an answer on a kept-alive connection waits
        # some 40 ms for the browser's delayed acknowledgement of its headers.
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(socket.SOMAXCONN)
        return sock
    except OSError as e:
        if sock is not None:
            sock.close()
        reason = e.strerror or str(e)
        raise UsageError(f"cannot listen on {host} port {port} ({reason}); try another --port"
                         " or --host") from None  # fmt: skip


def url(sock: socket.socket) -> str:
    """The page's address on a listening socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def server(catalog: Catalog, sock: socket.socket) -> uvicorn.Server:
    """A uvicorn server of ``catalog``'s runs for ``sock``: ``run(sockets=[sock])`` serves
    until Ctrl-C, SIGTERM or ``should_exit``; open requests then get ``GRACE`` seconds."""
    import uvicorn

    app = create_app(catalog, loopback_only=is_loopback(sock.getsockname()[0]))
    config = uvicorn.Config(
        app,
        log_level="warning",  # errors (a bug's traceback) still reach stderr
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACE,
    )
    return uvicorn.Server(config)


def serve(catalog: Catalog, sock: socket.socket) -> None:
    """Serve ``catalog``'s runs on ``sock`` until Ctrl-C or SIGTERM; returns after a clean
    shutdown."""
    # uvicorn stops on Ctrl-C, then raises the signal again for the caller: here the
    # end of serving is the normal end of the command.
    with contextlib.suppress(KeyboardInterrupt), sock:
        server(catalog, sock).run(sockets=[sock])
