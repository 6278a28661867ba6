"""nnbp serve's page in a real browser: the system's Chromium, driven by Playwright.

A real MNIST test digit traced with the mouse is read right, the page shows the 28x28
input the network saw (the server's preparation of the drawing), bars summing to 1 and
every layer; an image file chosen or dropped on the page is predicted as ``nnbp predict``
predicts it; a finger and a pen draw as the mouse does; the run picker switches networks
and Undo takes strokes back. No page may log an error.

A screenshot after drawing is kept in the test's directory; ``make serve-screenshot``
sets NNBP_SERVE_SCREENSHOT to copy it into docs/.
"""

from __future__ import annotations

import base64
import json
import os
import shutil

import numpy as np
import pytest
from serve_support import CHROMIUM, paper_digit, predict, running, strokes

import nnbp

pytestmark = pytest.mark.realdata

# Headless, and nothing that would reach the network or need a sandbox (tests run as root).
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
DRAWN = 1  # the MNIST test image traced on the pad: a 2
CHOSEN = 3  # the one chosen as a file: a 0


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        why = "playwright (the test extra) and Debian's chromium are needed"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; .ci/run installs them")
        pytest.skip(why)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def base(serve_home):
    with running(serve_home / "runs" / "mnist") as url:
        yield url


@pytest.fixture
def page(browser, base):
    """The page, loaded with its run's report; its console errors are checked at the end."""
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")
    page.wait_for_selector("#confusion tr")
    yield page
    page.close()
    assert errors == []


def settle(page) -> None:
    """Wait until the page has the answer to its latest request."""
    page.wait_for_selector("body[data-predicting=no] #label[data-label]", state="attached")


def draw(page, pixels: np.ndarray, most: int | None = None) -> None:
    """Trace a 28x28 digit on the pad with the mouse, one short stroke per run of ink
    (only the first ``most`` strokes, if given)."""
    box = page.locator("#pad").bounding_box()
    cell = box["width"] / 28
    for r, first, last in strokes(pixels)[:most]:
        y = box["y"] + (r + 0.5) * cell
        page.mouse.move(box["x"] + (first + 0.5) * cell, y)
        page.mouse.down()
        page.mouse.move(box["x"] + (last + 0.5) * cell, y, steps=2)
        page.mouse.up()
    settle(page)


def bars(page) -> list[float]:
    return [float(b.get_attribute("data-p")) for b in page.locator("#bars .bar").all()]


def test_a_digit_drawn_with_the_mouse_is_read_right(
    page, base, serve_home, mnist_test_digits, tmp_path
):
    images, labels = mnist_test_digits
    label = int(labels[DRAWN])
    assert nnbp.load(serve_home / "runs" / "mnist").predict(images[DRAWN : DRAWN + 1]) == label
    draw(page, images[DRAWN])

    assert page.locator("#label").get_attribute("data-label") == str(label)
    assert page.locator("#label").text_content() == str(label)
    p = bars(page)
    assert len(p) == 10 and abs(sum(p) - 1) < 1e-5 and int(np.argmax(p)) == label
    assert page.locator("#top3 li").first.text_content().startswith(str(label))
    # The preview is the server's preparation of the very drawing on the pad.
    drawing = page.evaluate("() => document.getElementById('pad').toDataURL('image/png')")
    answer = predict(base, base64.b64decode(drawing.split(",")[1]))
    shown = page.evaluate(
        "() => { const c = document.getElementById('input');"
        " return Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data); }"
    )
    preview = np.array(shown).reshape(28, 28, 4)[:, :, 0]
    assert preview.sum() > 0
    assert np.array_equal(preview, np.rint(255 * np.array(answer["input"])))
    assert answer["label"] == label and answer["probabilities"] == p
    # The layers: a grid of the 30 hidden neurons, the 10 outputs; 4 epochs of curves.
    assert page.locator("#layers h3").all_text_contents() == [
        "Hidden layer 1: 30 neurons", "Output layer: 10 neurons"]  # fmt: skip
    assert page.locator("#layers .outputs .neuron").count() == 10
    assert page.locator("#curves").get_attribute("data-points") == "4"

    page.screenshot(path=tmp_path / "serve.png", full_page=True)
    assert (tmp_path / "serve.png").stat().st_size > 10_000
    if os.environ.get("NNBP_SERVE_SCREENSHOT"):
        shutil.copyfile(tmp_path / "serve.png", os.environ["NNBP_SERVE_SCREENSHOT"])


def test_a_chosen_or_dropped_file_is_predicted_as_nnbp_predict_predicts_it(
    page, serve_home, mnist_test_digits, invoke, tmp_path
):
    path = tmp_path / "digit.png"
    path.write_bytes(paper_digit(mnist_test_digits[0][CHOSEN]))
    page.set_input_files("#file", path)
    page.wait_for_selector("#source:has-text('for digit.png')")
    settle(page)

    result = invoke("predict", "--json", "--weights", serve_home / "runs" / "mnist", path)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert page.locator("#label").get_attribute("data-label") == str(record["label"])
    assert bars(page) == record["probabilities"]
    assert page.locator("#confidence").text_content() == f"{100 * record['confidence']:.1f}%"

    # Dropped on the pad, the same file gets the same answer.
    page.click("#clear")
    data = base64.b64encode(path.read_bytes()).decode()
    dropped = page.evaluate_handle(
        "data => { const t = new DataTransfer();"
        " const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));"
        " t.items.add(new File([bytes], 'dropped.png', { type: 'image/png' })); return t; }",
        data,
    )
    page.dispatch_event("#pad", "drop", {"dataTransfer": dropped})
    page.wait_for_selector("#source:has-text('for dropped.png')")
    settle(page)
    assert bars(page) == record["probabilities"]


def test_the_run_picker_switches_the_network_and_undo_takes_strokes_back(page, mnist_test_digits):
    page.select_option("#run", "small")
    page.wait_for_selector("#run-summary:has-text('[784, 16, 10]')")
    assert page.locator("#curves").get_attribute("data-points") == "1"
    draw(page, mnist_test_digits[0][DRAWN], most=3)
    assert page.locator("#layers h3").first.text_content() == "Hidden layer 1: 16 neurons"
    for _ in range(3):
        page.click("#undo")
    assert page.locator("#label").text_content() == "–"
    assert page.locator("#bars .bar").count() == 0


@pytest.mark.parametrize("pointer", ["touch", "pen"])
def test_a_finger_or_a_pen_draws_too(pointer, browser, base):
    context = browser.new_context(viewport={"width": 420, "height": 900}, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    page.wait_for_selector("#confusion tr")
    box = page.locator("#pad").bounding_box()
    # A "1": one stroke down the middle of the pad, sent as the device would send it.
    x = box["x"] + box["width"] / 2
    points = [(x, box["y"] + 50 + 9 * i) for i in range(21)]
    cdp = context.new_cdp_session(page)
    if pointer == "touch":
        for kind, (px, py) in zip(["touchStart"] + ["touchMove"] * 20, points, strict=True):
            cdp.send(
                "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": px, "y": py}]}
            )
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    else:
        pen = {"pointerType": "pen", "button": "left", "buttons": 1, "clickCount": 1}
        for kind, (px, py) in zip(["mousePressed"] + ["mouseMoved"] * 20, points, strict=True):
            cdp.send("Input.dispatchMouseEvent", {"type": kind, "x": px, "y": py, **pen})
        cdp.send("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": px, "y": py, **pen})
    settle(page)
    assert page.locator("#label").text_content() == "1"
    context.close()
    assert errors == []
