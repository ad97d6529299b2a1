"""Shortcuts for tests whose subject is one screen: an account and an order, made
through the API, and a signed-in tab."""

from typing import Any

from playwright.async_api import Page, expect

from tests.browser.conftest import Shop
from tests.conftest import PASSWORD
from tests.helpers import bearer, login, register, unique_email


async def account_with_order(
    shop: Shop, product_id: int = 1, quantity: int = 1
) -> tuple[str, dict[str, Any]]:
    """A shopper with an order awaiting payment; their email and the order."""
    email = unique_email("lin")
    async with shop.api() as api:
        await register(api, email)
        headers = bearer(await login(api, email))
        added = await api.post(
            "/cart/items/",
            json={"product_id": product_id, "quantity": quantity},
            headers=headers,
        )
        assert added.status_code == 201, added.text
        order = await api.post("/checkout/", headers=headers)
        assert order.status_code == 201, order.text
    return email, order.json()


async def signed_in(
    page: Page, shop: Shop, email: str, path: str = "/products"
) -> None:
    await page.goto(shop.at(f"/app/#/signin?next={path}"))
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # The cart badge's request, sent on sign-in, is answered too.
    await page.wait_for_load_state("networkidle")
