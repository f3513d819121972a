"""The pages in a real browser: Debian's headless Chromium, driven by Playwright, against
uvicorn serving the app on a free local port. Signs in, creates a customer through the
form and sees it in the list.

Skipped with the reason when Chromium or Playwright is missing, unless
ACCORD_REQUIRE_BROWSER=1 (CI), when it fails instead. Playwright's own browser downloads
are never used: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from accord.access import Actor

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REQUIRE = os.environ.get("ACCORD_REQUIRE_BROWSER") == "1"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    return None


@pytest.fixture
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if REQUIRE:
            pytest.fail(f"ACCORD_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn in a thread; its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def test_sign_in_create_a_customer_and_see_it(browser: Any, server: str, alice: Actor) -> None:
    page = browser.new_page()
    page.goto(f"{server}/customers")
    assert "/login?next=/customers" in page.url  # signed out: sent to sign in first

    page.fill("#f-email", "alice@northwind.example")
    page.fill("#f-password", "not the password")
    page.click("button[type=submit]")
    assert "do not match" in page.inner_text("main")
    assert page.input_value("#f-email") == "alice@northwind.example"

    page.fill("#f-password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/customers")
    assert "Alice" in page.inner_text("header")

    page.click("text=New customer")
    page.fill("#f-name", "Fabrikam Ltd")
    page.fill("#f-code", "fab")  # lower case: refused, and what was typed is kept
    page.fill("#f-email", "it@fabrikam.example")
    page.click("button:has-text('Create customer')")
    assert "Not in the expected form" in page.inner_text("#e-code")
    assert page.input_value("#f-name") == "Fabrikam Ltd"

    page.fill("#f-code", "FAB")
    page.fill("#f-reason", "signed the MSA")
    page.click("button:has-text('Create customer')")
    page.wait_for_selector("h1:has-text('Fabrikam Ltd')")
    assert "Customer Fabrikam Ltd created." in page.inner_text("main")

    page.click("nav.crumbs >> text=Customers")
    page.wait_for_url(f"{server}/customers")
    assert page.is_visible("table >> text=Fabrikam Ltd")
    page.close()
