"""Browser fixtures: the real service under uvicorn, Debian's Chromium, and checks
every screen must pass (no script error, no policy violation, axe-core clean).
"""

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
from sqlalchemy import delete

from app.config import Settings
from app.db import create_engine, create_session_factory
from app.models import Job
from app.seed import seed_demo_catalog
from tests.conftest import ROOT, free_port
from tests.helpers import served, service_environment

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
# Tests write pictures to test-artifacts/; set SCREENSHOTS_DIR=docs/screenshots to
# refresh the ones README shows.
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR", ROOT / "test-artifacts" / "screenshots")
)
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
BLOCKING_IMPACTS = {"serious", "critical"}


@dataclass
class Shop:
    """The service as a browser reaches it, and a side door to its database."""

    url: str
    settings: Settings

    def at(self, path: str) -> str:
        return f"{self.url}{path}"

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


async def _seed(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await seed_demo_catalog(session, settings.currency)
    finally:
        await engine.dispose()


@pytest.fixture
async def shop(settings: Settings, clean_database: None) -> AsyncIterator[Shop]:
    """The demo catalog served by uvicorn on a loopback port, mail to the test SMTP."""
    await _seed(settings)
    port = free_port()
    reset_url = f"http://127.0.0.1:{port}/reset-password"
    env = service_environment(settings, PASSWORD_RESET_URL=reset_url)
    async with served(env, port=port) as base_url:
        yield Shop(base_url, settings)
    await _drop_jobs(settings)


async def _drop_jobs(settings: Settings) -> None:
    # Left queued, a job would run in the next test's worker, against its data.
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await session.execute(delete(Job))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `apt-get install chromium` "
            "(`make test` does it when run as root) or set CHROMIUM_PATH"
        )
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@dataclass
class PageProblems:
    """What the page complained about: uncaught errors and console errors."""

    messages: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        # A 4xx answer is logged by Chromium itself; the client handles those.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.messages.append(message.text)

    def error(self, error: Exception) -> None:
        self.messages.append(f"uncaught: {error}")


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A phone-sized tab; the test fails if its page threw or broke the policy."""
    context = await browser.new_context(
        viewport=PHONE, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    problems = PageProblems()
    tab.on("console", problems.console)
    tab.on("pageerror", problems.error)
    yield tab
    await context.close()
    assert problems.messages == [], "the page reported errors"


async def check_screen(page: Page, name: str) -> None:
    """axe-core finds nothing serious on the screen; keep a phone screenshot of it."""
    await page.evaluate(AXE)
    result = await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    blocking = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]
    assert blocking == [], f"accessibility violations on {name}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled")


def mail_link(message: Any) -> str:
    text = next(
        part.get_content()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    return next(word for word in text.split() if word.startswith("http"))
