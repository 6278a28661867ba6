"""The ``nnbp serve`` command: one-line errors before serving, a warning off loopback, the
URL on stdout, a clean end on Ctrl-C; and ``nnbp train`` never loads the web stack."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import assert_one_error_line

from nnbp.errors import ExitCode

pytestmark = pytest.mark.realdata


@pytest.fixture
def never_serve(monkeypatch):
    """Make a command that gets as far as serving fail at once instead of serving forever."""
    from nnbp.serve import server

    def refuse(catalog, sock):
        sock.close()
        raise AssertionError("nnbp serve started serving")

    monkeypatch.setattr(server, "serve", refuse)


def test_without_the_extra_it_says_which_to_install(invoke, serve_home, monkeypatch):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now fails
    result = invoke("serve", serve_home / "runs" / "mnist")
    assert_one_error_line(result, ExitCode.ERROR, "pip install 'nnbp[serve]'")


@pytest.mark.parametrize(
    ("target", "code", "text"),
    [
        (None, ExitCode.ERROR, "no latest run; train one"),  # no runs/ in the test's directory
        ("nowhere", ExitCode.ERROR, "nowhere: no such run directory"),
        ("runs/mnist/weights.npz", ExitCode.USAGE, "expected a run directory"),
    ],
)
def test_a_run_dir_that_is_no_run_is_one_error_line(
    target, code, text, invoke, serve_home, never_serve
):
    if target and target.startswith("runs/"):
        target = serve_home / target
    result = invoke("serve", *([target] if target else []), "--port", "0")
    assert_one_error_line(result, code, text)


def test_a_port_in_use_is_one_error_line(invoke, serve_home, never_serve):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = invoke("serve", serve_home / "runs" / "mnist", "--port", port)
    assert_one_error_line(result, ExitCode.USAGE, f"cannot listen on 127.0.0.1 port {port}")


def test_a_host_other_than_loopback_is_warned_about_and_open_opens_the_page(
    invoke, serve_home, monkeypatch
):
    import webbrowser

    from nnbp.serve import server

    served, opened = [], []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    # Nothing is bound to other interfaces: the socket is a loopback one, and serving
    # returns at once.
    monkeypatch.setattr(server, "listen", lambda host, port: socket.create_server(("127.0.0.1", 0)))
    monkeypatch.setattr(server, "serve", lambda catalog, sock: served.append(sock.close()))
    result = invoke("serve", serve_home / "runs" / "mnist", "--host", "0.0.0.0", "--open")
    assert result.exit_code == 0 and served
    assert "Warning: listening on 0.0.0.0: any machine that reaches this one" in result.stderr
    assert len(opened) == 1 and opened[0].startswith("http://127.0.0.1:")
    assert f" at {opened[0]} (Ctrl-C to stop)" in result.stdout


def test_it_prints_the_url_serves_and_stops_cleanly_on_ctrl_c(serve_home):
    process = subprocess.Popen(
        [sys.executable, "-m", "nnbp", "serve", "--port", "0"], cwd=serve_home,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert " at http://127.0.0.1:" in line, line + process.stderr.read()
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "api/runs", timeout=30) as response:
            assert json.load(response)["default"] == "mnist"  # runs/latest
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b'<canvas id="pad"' in response.read()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert err.strip().splitlines()[-1] == "nnbp serve: stopped" and "Traceback" not in err
    assert line.startswith(f"nnbp serve: {(serve_home / 'runs' / 'mnist').resolve()} at ")


def test_train_never_imports_the_web_stack(tiny_config, tmp_path):
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from nnbp.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['train', {str(tiny_config())!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('starlette', 'uvicorn', 'anyio', 'playwright') or m.startswith('nnbp.serve')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_page_ships_with_the_package_and_loads_nothing_from_elsewhere():
    import configparser
    import fnmatch

    import nnbp.serve.app as app

    setup = configparser.ConfigParser()
    setup.read(Path(app.__file__).parents[2] / "setup.cfg")
    patterns = setup["options.package_data"]["nnbp.serve"].replace(",", " ").split()
    files = sorted(p.name for p in Path(app.STATIC).iterdir())
    assert {"index.html", "app.js", "view.js", "style.css"} <= set(files)
    for name in files:
        assert any(fnmatch.fnmatch(f"static/{name}", pattern) for pattern in patterns), name
        text = (Path(app.STATIC) / name).read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.1:8000", True), ("127.8.9.10:80", True), ("localhost", True),
     ("LOCALHOST:8000", True), ("[::1]:8000", True), ("::1", True), ("0.0.0.0", False),
     ("::", False), ("192.168.1.2:8000", False), ("attacker.example", False),
     ("localhost.attacker.example", False), ("", False)],
)  # fmt: skip
def test_loopback_names_are_told_from_the_others(host, loopback):
    from nnbp.serve.app import host_name, is_loopback

    assert is_loopback(host_name(host)) is loopback
