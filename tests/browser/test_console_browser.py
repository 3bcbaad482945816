"""The console in a real headless Chromium (Debian's package, driven by Playwright).

Never downloads a browser: ``executable_path`` points at /usr/bin/chromium, and the tests
skip with a reason where it is missing. Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.consolekit import HERAT, KABUL, PASSWORD, make_item, make_user

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); "
                "`apt-get install -y chromium` to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="the playwright package is not installed (test extras)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(base_env: dict[str, str]) -> Iterator[str]:
    """The real app under uvicorn on loopback, in a thread of this process."""
    import uvicorn

    from gateway.app import create_app
    from gateway.settings import get_settings

    # Plain http on loopback in the test: the cookie cannot be Secure here.
    settings = get_settings().model_copy(update={"cookie_secure": False})
    port = _free_port()
    config = uvicorn.Config(create_app(settings, background=False), host="127.0.0.1",
                            port=port, log_config=None, access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _login_by_keyboard(page: Any, server: str, name: str) -> None:
    page.goto(f"{server}/console/login")
    assert page.get_attribute("#name", "autofocus") is not None
    page.focus("#name")  # the first tab of a fresh browser may not have focus yet
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/console/queue")


def _item(item_id: int) -> Any:
    from gateway.db import unit_of_work
    from gateway.intake.models import Item

    with unit_of_work() as session:
        return session.get(Item, item_id)


def test_log_in_and_claim(page: Any, server: str) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    item = make_item(HERAT, "the school in Injil district is closed")
    _login_by_keyboard(page, server, "hamid")
    assert page.locator(f'a[href="/console/items/{item}"]').is_visible()
    page.click(f'a[href="/console/items/{item}"]')
    page.click("button[value=claim]")
    page.wait_for_url(f"**/console/items/{item}?done=claim")
    assert page.locator("#claimed-by").inner_text() == "hamid"
    assert _item(item).status == "claimed"


def test_edit_a_transcript(page: Any, server: str) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    item = make_item(HERAT, "salam az herat, ab nadarim")
    _login_by_keyboard(page, server, "hamid")
    page.goto(f"{server}/console/items/{item}")
    page.fill("#text", "سلام از هرات، آب نداریم")
    page.click("form[action$='/text'] button")
    page.wait_for_url(f"**/console/items/{item}?done=text")
    assert page.input_value("#text") == "سلام از هرات، آب نداریم"
    page.click("details summary")
    versions = page.locator("details li").all_inner_texts()
    assert len(versions) == 2 and "salam az herat, ab nadarim" in versions[0]
    assert _item(item).raw_text == "salam az herat, ab nadarim"


def test_reroute(page: Any, server: str) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    item = make_item(HERAT, "we are in Kabul, Paghman")
    _login_by_keyboard(page, server, "hamid")
    page.goto(f"{server}/console/items/{item}")
    page.select_option("select[name=province]", KABUL)
    page.fill("input[name=reason]", "sender is in Kabul")
    page.click("form[action$='/reroute'] button[type=submit]")
    page.wait_for_url(f"{server}/console/queue")
    assert page.locator(f'a[href="/console/items/{item}"]').count() == 0
    moved = _item(item)
    assert (moved.province, moved.routing_reason) == (KABUL, "rerouted")


def test_dari_page_renders_right_to_left(page: Any, server: str) -> None:
    make_user("dari", "coordinator", provinces=[HERAT], language="fa")
    make_item(HERAT, "سلام، ما در هرات آب آشامیدنی نداریم")
    _login_by_keyboard(page, server, "dari")
    direction = page.evaluate("getComputedStyle(document.documentElement).direction")
    assert direction == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('table')).direction") == "rtl"
    assert page.locator("h1").inner_text().startswith("صف")
    # The header flows from the right: the app name sits right of the sign-out button.
    name_box = page.locator("header strong").bounding_box()
    out_box = page.locator("header form[action='/console/logout'] button").bounding_box()
    assert name_box["x"] > out_box["x"]
