"""``nnbp serve``: a local web page to draw a digit and watch the network read it.

The page (static/, plain HTML, JavaScript and CSS: no build step, nothing fetched from
elsewhere) talks to a small JSON API (app.py) over the library: ``predict.py`` answers a
drawing or an image file exactly as ``nnbp predict --json`` does, plus every layer's
activations; ``catalog.py`` finds the runs under runs/ and what the page shows of them.
Starlette and uvicorn are the optional extra ``nnbp[serve]``, imported only here.
"""

from __future__ import annotations

from nnbp.errors import MissingExtra

INSTALL_HINT = (
    "nnbp serve needs starlette and uvicorn; install them with: pip install 'nnbp[serve]'"
    " (make install includes them)"
)


def require_extra() -> None:
    """MissingExtra naming the extra to install unless starlette and uvicorn import."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise MissingExtra(INSTALL_HINT) from None
