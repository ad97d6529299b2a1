"""When things go wrong: no stream, no network, a dying token, a double press."""

import asyncio
import re

from playwright.async_api import Page, Request, Route, expect
from sqlalchemy import update

from app.db import create_engine, create_session_factory
from app.models import User
from tests.browser.conftest import Shop, check_screen
from tests.browser.shopper import account_with_order, signed_in
from tests.conftest import PASSWORD
from tests.helpers import bearer, eventually, login, register, unique_email

PAYMENT_POLL = re.compile(r"/payments/\d+/?$")


def _record(page: Page) -> list[str]:
    urls: list[str] = []

    def note(request: Request) -> None:
        urls.append(f"{request.method} {request.url}")

    page.on("request", note)
    return urls


async def test_without_the_live_stream_the_payment_screen_falls_back_to_polling(
    page: Page, shop: Shop
) -> None:
    email, order = await account_with_order(shop)
    await page.route("**/events/", lambda route: route.abort())
    requests = _record(page)
    await signed_in(page, shop, email, f"/orders/{order['id']}/pay")

    await page.get_by_role("button", name="Pay $24.90").click()

    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    assert any(PAYMENT_POLL.search(url) for url in requests), "it never polled"


async def test_a_lost_network_is_said_and_a_retry_offered(
    page: Page, shop: Shop
) -> None:
    await page.goto(shop.at("/app/#/products"))
    await expect(page.get_by_text("Page 1 of 3")).to_be_visible()

    await page.context.set_offline(True)
    await expect(page.get_by_text("You are offline.")).to_be_visible()
    await page.get_by_role("link", name="Next →").click()
    problem = page.get_by_role("alert")
    await expect(problem).to_contain_text(
        "We can't reach the shop. Check your connection and try again."
    )
    await check_screen(page, "17-offline")

    await page.context.set_offline(False)
    await expect(page.get_by_text("You are offline.")).to_be_hidden()
    await problem.get_by_role("button", name="Try again").click()
    await expect(page.get_by_text("Page 2 of 3")).to_be_visible()


async def test_a_form_sent_offline_keeps_its_input_and_sends_it_on_retry(
    page: Page, shop: Shop
) -> None:
    email = unique_email("ren")
    async with shop.api() as api:
        await register(api, email)
    await page.goto(shop.at("/app/#/forgot"))
    await page.get_by_label("Email").fill(email)

    await page.context.set_offline(True)
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.get_by_role("alert")).to_contain_text("We can't reach the shop.")
    await page.context.set_offline(False)
    await page.get_by_role("alert").get_by_role("button", name="Try again").click()

    await expect(page.get_by_text("Check your email.")).to_be_visible()


async def test_the_access_token_is_renewed_quietly_before_it_expires(
    page: Page, shop: Shop
) -> None:
    email = unique_email("sam")
    async with shop.api() as api:
        await register(api, email)
    await page.clock.install()
    requests = _record(page)
    await signed_in(page, shop, email)

    # The access token lives 15 minutes; a minute before, a new one is fetched.
    await page.clock.run_for("14:05")

    async def refreshes() -> list[str]:
        return [u for u in requests if "/token/refresh/" in u]

    assert len(await eventually(refreshes, bool)) == 1
    await page.get_by_role("link", name="Orders").click()
    await expect(page.get_by_text("No orders yet.")).to_be_visible()


async def test_a_refused_access_token_is_renewed_once_and_the_call_retried(
    page: Page, shop: Shop
) -> None:
    email = unique_email("ines")
    async with shop.api() as api:
        await register(api, email)
    requests = _record(page)
    await signed_in(page, shop, email)
    await _kill_access_tokens(shop, email)

    await page.get_by_role("link", name="Orders").click()

    await expect(page.get_by_text("No orders yet.")).to_be_visible()
    orders = [u for u in requests if u.startswith("GET") and "/orders/" in u]
    refreshes = [u for u in requests if "/token/refresh/" in u]
    assert (len(orders), len(refreshes)) == (2, 1)


async def test_a_reload_keeps_the_shopper_signed_in_within_the_tab(
    page: Page, shop: Shop
) -> None:
    email, _order = await account_with_order(shop)
    await signed_in(page, shop, email, "/orders")
    await expect(page.get_by_text("Awaiting payment")).to_be_visible()

    await page.reload()

    await expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    await expect(page.get_by_text("Awaiting payment")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def test_a_busy_button_shows_progress_and_a_second_press_does_nothing(
    page: Page, shop: Shop
) -> None:
    email = unique_email("ola")
    async with shop.api() as api:
        await register(api, email)
        headers = bearer(await login(api, email))
        await api.post(
            "/cart/items/", json={"product_id": 2, "quantity": 1}, headers=headers
        )
    await signed_in(page, shop, email, "/checkout")
    checkouts = _record(page)
    released = asyncio.Event()

    async def held(route: Route) -> None:
        await released.wait()
        await route.continue_()

    await page.route("**/checkout/", held)
    place = page.get_by_role("button", name=re.compile("Place order"))
    await place.dblclick()

    busy = page.get_by_role("button", name="Placing your order…")
    await expect(busy).to_have_attribute("aria-busy", "true")
    await expect(busy).to_have_attribute("aria-disabled", "true")
    await busy.click(force=True)
    released.set()
    await expect(
        page.get_by_role("heading", name=re.compile("Pay for order"))
    ).to_be_visible()
    async with shop.api() as api:
        orders = (await api.get("/orders/", headers=headers)).json()
    assert orders["total"] == 1
    assert (
        len([u for u in checkouts if u.startswith("POST") and "/checkout/" in u]) == 1
    )


async def _kill_access_tokens(shop: Shop, email: str) -> None:
    """What a deploy with a new signing key does: access tokens die, refresh lives."""
    engine = create_engine(shop.settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await session.execute(
                update(User)
                .where(User.email == email)
                .values(token_version=User.token_version + 1)
            )
    finally:
        await engine.dispose()


async def test_an_ended_session_says_so_and_returns_to_the_screen_after_sign_in(
    page: Page, shop: Shop
) -> None:
    email, _order = await account_with_order(shop)
    await signed_in(page, shop, email)
    refresh_token = await page.evaluate("sessionStorage.getItem('shop.refresh_token')")
    async with shop.api() as api:
        await api.post("/logout/", json={"refresh_token": refresh_token})
    await _kill_access_tokens(shop, email)

    await page.get_by_role("link", name="Orders").click()

    await expect(
        page.get_by_text("Your session has ended. Sign in again.")
    ).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    await expect(page.get_by_text("Awaiting payment")).to_be_visible()
