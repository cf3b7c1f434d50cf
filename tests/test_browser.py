"""Browser test: Debian's chromium, driven by Playwright, opens the served demo and its report."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from medcyber.services.demo import load_demo
from medcyber.store import Store
from medcyber.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    store = Store(f"sqlite:///{tmp_path / 'web.db'}")
    store.upgrade()
    with store.session() as session:
        load_demo(session)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        store.dispose()


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make test installs it)"
)
def test_report_page_in_chromium(served: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(served + "/")
        page.wait_for_load_state("networkidle")
        assert "Acme Medical" in page.content()
        assert page.locator("svg").count() >= 3  # the charts render as inline SVG
        page.screenshot(path=str(ARTIFACTS / "acme-report.png"), full_page=True)
        with page.expect_download() as dl:
            page.click("a[href$='report.pdf']")
        path = dl.value.path()
        assert path is not None and Path(path).read_bytes()[:5] == b"%PDF-"
        browser.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
