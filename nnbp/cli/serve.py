"""``nnbp serve``: a local web page to draw a digit and watch the network read it."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", metavar="[RUN_DIR]", required=False, type=Path)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but a loopback address lets other"
                   " machines use the page.")  # fmt: skip
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
def serve(run_dir: Path | None, host: str, port: int, open_browser: bool) -> None:
    """Draw a digit in the browser and watch the network read it.

    Serves a page where you draw with the mouse, a finger or a pen (or drop an image
    file) and see the prediction as you draw: the probabilities, the 28x28 input as the
    network sees it after the same preparation as `nnbp predict`, and every layer's
    activations. A run picker shows each run under the runs directory with its learning
    curves, test confusion matrix and most confident errors. RUN_DIR is the run that
    predicts [runs/latest]; its directory's other runs are in the picker. The JSON API
    behind the page (POST /api/predict, GET /api/runs, GET /api/runs/NAME) is described
    in docs/SERVE.md. Needs the extra: pip install 'nnbp[serve]'. Stop with Ctrl-C.
    """
    from nnbp.serve import require_extra

    require_extra()
    import webbrowser

    from nnbp.serve.app import host_name, is_loopback
    from nnbp.serve.catalog import Catalog
    from nnbp.serve.server import listen, serve, url

    catalog = Catalog(run_dir)
    if not is_loopback(host_name(host)):
        click.echo(
            f"Warning: listening on {host}: any machine that reaches this one can use the"
            f" page and read the runs under {catalog.root} (there is no login)",
            err=True,
        )
    sock = listen(host, port)
    address = url(sock)
    click.echo(f"nnbp serve: {catalog.root / catalog.default} at {address} (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(address)
    serve(catalog, sock)
    click.echo("nnbp serve: stopped", err=True)
