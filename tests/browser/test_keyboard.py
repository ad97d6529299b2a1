"""The whole purchase with the keyboard alone: Tab, Shift+Tab, Enter and Space."""

from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Shop
from tests.conftest import PASSWORD
from tests.helpers import register, unique_email

MAX_PRESSES = 80


async def _tab_to(page: Page, target: Locator, key: str = "Tab") -> None:
    """Press `key` until `target` has focus, as a keyboard user would."""
    for _ in range(MAX_PRESSES):
        await page.keyboard.press(key)
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{key} never reached {target}")


async def test_sign_in_add_to_cart_check_out_and_pay_with_the_keyboard_alone(
    page: Page, shop: Shop
) -> None:
    email = unique_email("kim")
    async with shop.api() as api:
        await register(api, email)
    await page.goto(shop.at("/app/#/signin"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_focused()

    await _tab_to(page, page.get_by_label("Email"))
    await page.keyboard.type(email)
    await _tab_to(page, page.get_by_label("Password"))
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Products", level=1)).to_be_focused()

    await _tab_to(
        page, page.get_by_role("button", name="Add to cart: Espresso Beans 1kg")
    )
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("✓ In your cart: 1")).to_be_visible()
    cart = page.get_by_role("link", name="Cart 1 item")
    await _tab_to(page, cart, key="Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Your cart")).to_be_focused()

    await _tab_to(page, page.get_by_role("link", name="Check out"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Check out")).to_be_focused()
    await _tab_to(page, page.get_by_role("button", name="Place order · $24.90"))
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", name="Pay for order #1")).to_be_focused()
    await _tab_to(page, page.get_by_label("Visa ending in 4242"))
    await page.keyboard.press("Space")
    await expect(page.get_by_label("Visa ending in 4242")).to_be_checked()
    await _tab_to(page, page.get_by_role("button", name="Pay $24.90"))
    await page.keyboard.press("Space")
    await expect(page.get_by_role("heading", name="Payment received")).to_be_focused()
    await expect(page.locator(".status-paid")).to_have_text("paid")
