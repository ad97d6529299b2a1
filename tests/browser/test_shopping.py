"""A purchase in the browser: register, sign in, search, cart, pay, sign out."""

import asyncio
import re

from playwright.async_api import Page, Request, Route, expect

from tests.browser.conftest import Shop, check_screen
from tests.browser.shopper import account_with_order, signed_in
from tests.conftest import PASSWORD

PAYMENT_POLL = re.compile(r"/payments/\d+/?$")


async def _sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_shopper_registers_shops_and_sees_payments_settle_live(
    page: Page, shop: Shop
) -> None:
    # Fixed, not unique: the database is new for each test, and the screenshots
    # then change only when the screens do.
    email = "ada@example.com"
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))

    # The catalog, then registration with feedback as the shopper types.
    await page.goto(shop.at("/app/"))
    await expect(page.get_by_role("heading", name="Products", level=1)).to_be_focused()
    await expect(page.get_by_text("24 products on sale.")).to_be_visible()
    await check_screen(page, "01-products")
    await page.get_by_role("link", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await check_screen(page, "02-sign-in")
    await page.get_by_role("link", name="Create an account").click()
    # Typing before the screen is drawn would type into the screen being replaced.
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    await page.get_by_label("Email").fill("ada@example")
    await page.get_by_label("Email").blur()
    await expect(
        page.get_by_text("Enter an email address like name@example.com.")
    ).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await expect(page.get_by_text("Enter an email address like")).to_be_hidden()
    await page.get_by_label("Password").fill("short")
    await page.get_by_label("Password").blur()
    await expect(
        page.get_by_text("Use at least 8 characters (3 more).")
    ).to_be_visible()
    await page.get_by_label("Password").press_sequentially("er")
    await expect(
        page.get_by_text("Use at least 8 characters (1 more).")
    ).to_be_visible()
    await check_screen(page, "03-register")

    # The API's own refusal is shown next to the field it names.
    await page.get_by_label("Email").fill("ada@shop.test")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    reserved = re.compile("special-use or reserved name")
    await expect(page.get_by_label("Email")).to_have_accessible_description(reserved)
    await expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # Signed out and in again; a wrong password is said plainly.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await _sign_in(page, email, "not my password")
    await expect(page.get_by_role("alert")).to_have_text(
        "The email or the password is wrong."
    )
    await _sign_in(page, email)
    await expect(page.get_by_role("heading", name="Products", level=1)).to_be_visible()

    # Search, a product's own screen, and a second product from the list.
    await page.get_by_label("Search products").fill("mug")
    await expect(page.get_by_text("1 product matches “mug”.")).to_be_visible()
    await page.get_by_role("link", name="Travel Mug").click()
    await expect(
        page.get_by_role("heading", name="Travel Mug", level=1)
    ).to_be_visible()
    await page.get_by_role("button", name="Add to cart").click()
    await expect(page.get_by_text("Travel Mug is in your cart.")).to_be_visible()
    await check_screen(page, "04-product")
    await page.get_by_role("link", name="All products").click()
    await page.get_by_label("Search products").fill("beans")
    await expect(page.get_by_text("2 products match “beans”.")).to_be_visible()
    await page.get_by_role("button", name="Add to cart: Espresso Beans 1kg").click()
    await expect(page.get_by_text("✓ In your cart: 1")).to_be_visible()
    await expect(page.get_by_role("link", name="Cart 2 items")).to_be_visible()
    await check_screen(page, "05-search")

    # The cart: one more mug, then more than the shelf holds.
    await page.get_by_role("link", name="Cart 2 items").click()
    await page.get_by_role("button", name="One more Travel Mug").click()
    await expect(page.get_by_label("Quantity of Travel Mug")).to_have_value("2")
    await expect(page.locator(".totals")).to_contain_text("$80.88")
    await page.get_by_label("Quantity of Travel Mug").fill("50")
    await page.get_by_label("Quantity of Travel Mug").press("Enter")
    await expect(page.get_by_text("Only 35 left")).to_be_visible()
    await expect(page.get_by_label("Quantity of Travel Mug")).to_have_value("2")
    await check_screen(page, "06-cart")

    # Check out, pay with the success card: "paid" arrives over the stream.
    await page.get_by_role("link", name="Check out").click()
    await expect(page.get_by_text("Travel Mug × 2")).to_be_visible()
    await check_screen(page, "07-checkout")
    await page.get_by_role("button", name="Place order · $80.88").click()
    await expect(
        page.get_by_role("heading", name=re.compile(r"Pay for order #\d+"))
    ).to_be_visible()
    await check_screen(page, "08-payment")
    await page.get_by_role("button", name="Pay $80.88").click()
    await expect(page.get_by_role("heading", name="Payment received")).to_be_focused()
    await expect(
        page.get_by_role("heading", name="Payment received")
    ).to_be_in_viewport()
    await expect(page.locator(".status-paid")).to_have_text("paid")
    await check_screen(page, "10-payment-succeeded")
    assert any(r.url.endswith("/events/") for r in requests)
    assert not [r.url for r in requests if PAYMENT_POLL.search(r.url)], "it polled"

    # Another order, the decline card: the reason, and the order stays payable.
    await page.get_by_role("link", name="Keep shopping").click()
    await page.get_by_role("button", name="Add to cart: Milk Frother").click()
    await expect(page.get_by_role("link", name="Cart 1 item")).to_be_visible()
    await page.get_by_role("link", name="Cart 1 item").click()
    await page.get_by_role("link", name="Check out").click()
    await page.get_by_role("button", name="Place order · $14.99").click()
    await page.get_by_label("Visa ending in 0002").check()
    await page.get_by_role("button", name="Pay $14.99").click()
    await expect(page.get_by_role("heading", name="Payment failed")).to_be_focused()
    await expect(page.get_by_role("heading", name="Payment failed")).to_be_in_viewport()
    await expect(
        page.get_by_text("Your card was declined. Try another card.")
    ).to_be_visible()
    await expect(page.get_by_role("button", name="Pay $14.99")).to_be_enabled()
    await check_screen(page, "11-payment-declined")

    # The history shows both; signing out revokes the session on the server.
    await page.get_by_role("link", name="Your orders").click()
    await expect(page.locator(".order-list > li")).to_have_count(2)
    await expect(page.locator(".status-pill")).to_have_text(
        ["Awaiting payment", "Paid"]
    )
    await check_screen(page, "12-orders")
    refresh_token = await page.evaluate("sessionStorage.getItem('shop.refresh_token')")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    async with shop.api() as api:
        spent = await api.post("/token/refresh/", json={"refresh_token": refresh_token})
    assert spent.status_code == 401
    assert await page.evaluate("sessionStorage.length") == 0


async def test_the_payment_screen_shows_processing_until_the_outcome_arrives(
    page: Page, shop: Shop
) -> None:
    email, order = await account_with_order(shop, product_id=5)
    stream_opened = asyncio.Event()
    released = asyncio.Event()

    async def held(route: Route) -> None:
        stream_opened.set()
        await released.wait()
        await route.continue_()

    await page.route("**/events/", held)
    await signed_in(page, shop, email, f"/orders/{order['id']}/pay")
    await page.get_by_role("button", name="Pay $89.00").click()
    await asyncio.wait_for(stream_opened.wait(), 10)

    processing = page.get_by_role("status").filter(has_text="Processing your payment…")
    await expect(processing).to_be_visible()
    await expect(page.get_by_role("button", name="Paying…")).to_have_attribute(
        "aria-busy", "true"
    )
    await check_screen(page, "09-payment-processing")
    released.set()

    await expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    await expect(processing).to_have_count(0)
