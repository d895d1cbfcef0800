"""The playground in a real headless Chromium: draw a 1 and a 7, look inside, train.

Needs Debian's ``chromium`` and the ``playwright`` package (``.ci/run`` installs both). A
browser that cannot start fails the test: it is never skipped. Real MNIST comes through
``mnist.load_data()``. Screenshots of the three views go to ``$TOMEI_SCREENSHOTS`` when it is
set (``docs/images/`` holds the ones made this way), else to the test's temporary folder.
"""
import json
import os
import shutil

import pytest

from tomei.tools.playground import Playground

from .conftest import ONE, SEVEN, fresh_playground, real_mnist, small_data

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def screenshot_dir(tmp_path):
    folder = os.environ.get("TOMEI_SCREENSHOTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    return folder


def open_page(browser, server):
    # bypass_csp: Playwright evaluates its wait conditions as strings, which the page's
    # Content-Security-Policy (no eval) would refuse; the page itself never needs eval.
    page = browser.new_page(viewport={"width": 1100, "height": 820}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url)
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    return page, errors


def draw(page, points):
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=15)
    page.mouse.up()


def wait_top1(page, expected):
    page.wait_for_function(
        "name => document.getElementById('top1').textContent === name", arg=expected,
        timeout=20_000)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_draw_look_inside_and_train(browser, serve, trained_mnist_model, tmp_path, lang):
    (x_train, y_train), test = real_mnist()
    shots = screenshot_dir(tmp_path)
    server = serve(Playground(trained_mnist_model, data=((x_train, y_train), test), lang=lang),
                   lang=lang)
    page, errors = open_page(browser, server)
    assert page.locator("html").get_attribute("lang") == lang

    draw(page, ONE)
    wait_top1(page, "1")
    probs = page.locator("#probs > *")
    assert probs.count() == 10
    values = [float(probs.nth(i).get_attribute("data-p")) for i in range(10)]
    classes = [probs.nth(i).get_attribute("data-class") for i in range(10)]
    assert classes == [str(i) for i in range(10)]
    assert abs(sum(values) - 1) < 1e-2 and max(values) == values[1]

    page.click("#clear")
    draw(page, SEVEN)
    wait_top1(page, "7")
    page.screenshot(path=os.path.join(shots, f"playground-draw-{lang}.png"))

    page.click("#tab-inside")
    page.wait_for_function("document.querySelectorAll('#hidden-grid .cell').length === 128",
                           timeout=20_000)
    assert page.locator("#units canvas").count() >= 1
    page.screenshot(path=os.path.join(shots, f"playground-inside-{lang}.png"))
    assert not errors, errors


def train_until(page, points):
    """Presses Train, waits for ``points`` points on the curve, presses Stop, waits for the
    end; returns the validation accuracies the curve shows."""
    page.click("#train")
    page.wait_for_function(
        f"Number(document.getElementById('curve').dataset.points) >= {points}",
        timeout=120_000)
    page.click("#stop")
    page.wait_for_function("document.getElementById('curve').dataset.running === 'false'",
                           timeout=60_000)
    return json.loads(page.locator("#curve").get_attribute("data-accuracy"))


def test_training_from_the_page_moves_the_curve(browser, serve, tmp_path):
    """An untrained model learns from the page: the curve gains points, accuracy rises."""
    data = real_mnist()
    shots = screenshot_dir(tmp_path)
    server = serve(fresh_playground(data=data, save_path=str(tmp_path / "pg.keras"), tick=40))
    page, errors = open_page(browser, server)
    page.click("#tab-learn")
    page.fill("#epochs", "1")
    accuracy = train_until(page, 6)
    assert len(accuracy) >= 6
    assert accuracy[0] < 0.4 and accuracy[-1] > accuracy[0] + 0.4, accuracy
    assert page.locator("#chart-accuracy polyline.val").get_attribute("points").count(",") >= 6
    assert page.locator("#fixed canvas").count() == 8
    page.click("#save")
    page.wait_for_function("document.getElementById('message').textContent.includes('pg.keras')",
                           timeout=30_000)
    assert (tmp_path / "pg.keras").is_file()
    page.screenshot(path=os.path.join(shots, "playground-learn-en.png"))
    assert not errors, errors


def test_learn_view_in_japanese(browser, serve, tmp_path):
    data = real_mnist()
    shots = screenshot_dir(tmp_path)
    server = serve(fresh_playground(data=data, lang="ja", tick=40), lang="ja")
    page, errors = open_page(browser, server)
    page.click("#tab-learn")
    assert page.locator("#train").text_content() == "学習"
    assert len(train_until(page, 4)) >= 4
    page.screenshot(path=os.path.join(shots, "playground-learn-ja.png"))
    assert not errors, errors


def test_a_status_reply_from_before_train_does_not_stop_the_polling(browser, serve):
    """The Learn tab asks for the status once when it opens; a reply that arrives after
    Train was pressed (a busy machine) said "not running" and stopped the polling, so the
    curve never moved (test_learn_view_in_japanese presses Train right after the tab)."""
    server = serve(fresh_playground(data=small_data(n_train=5600), tick=5))
    page, errors = open_page(browser, server)
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:  # answer now (training has not started), deliver after Train is pressed
            held.append((route, route.fetch()))
    page.route("**/api/status", hold_the_first)
    page.click("#tab-learn")
    for _ in range(400):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    page.click("#train")
    page.wait_for_function("document.getElementById('curve').dataset.running === 'true'",
                           timeout=20_000)
    route, stale = held[0]
    assert '"running": false' in stale.text()
    route.fulfill(response=stale)
    points = train_until(page, 3)
    assert len(points) >= 3
    assert not errors, errors
