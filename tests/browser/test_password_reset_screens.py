"""Forgot password, the emailed link, a new password; and a link that expired."""

from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

from playwright.async_api import Page, expect
from sqlalchemy import update

from app.db import create_engine, create_session_factory
from app.models import PasswordResetToken, utcnow
from tests.browser.conftest import Shop, check_screen, mail_link
from tests.conftest import PASSWORD
from tests.helpers import eventually, register

NEW_PASSWORD = "a brand new passphrase"


async def _account(shop: Shop) -> str:
    # Fixed: the database is new for each test, and the screenshots stay stable.
    email = "grace@example.com"
    async with shop.api() as api:
        await register(api, email)
    return email


async def _emailed_link(
    page: Page, shop: Shop, mailbox: list[EmailMessage], email: str
) -> str:
    await page.goto(shop.at("/app/#/signin"))
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(
        page.get_by_role("heading", name="Forgot your password?")
    ).to_be_focused()
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.get_by_text("Check your email.")).to_be_visible()

    async def received() -> list[EmailMessage]:
        return [m for m in mailbox if m["To"] == email]

    [message] = await eventually(received, bool)
    return mail_link(message)


async def test_a_shopper_resets_a_forgotten_password_from_the_emailed_link(
    page: Page, shop: Shop, mailbox: list[EmailMessage]
) -> None:
    email = await _account(shop)

    # An unknown address is named next to its field.
    await page.goto(shop.at("/app/#/forgot"))
    await page.get_by_label("Email").fill("nobody@example.com")
    await page.get_by_role("button", name="Email me a link").click()
    await expect(page.get_by_text("No account uses this email.")).to_be_visible()
    await expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    await check_screen(page, "13-forgot-password")

    link = await _emailed_link(page, shop, mailbox, email)
    await check_screen(page, "14-forgot-password-sent")

    # The link opens the reset screen; the token leaves the query for the fragment.
    assert urlsplit(link).path == "/reset-password"
    await page.goto(link)
    await expect(
        page.get_by_role("heading", name="Choose a new password")
    ).to_be_visible()
    address = urlsplit(page.url)
    assert (address.path, address.query) == ("/app/", "")
    assert address.fragment.startswith("/reset?token=")
    await page.get_by_label("New password", exact=True).fill("short")
    await page.get_by_label("New password", exact=True).blur()
    await expect(
        page.get_by_text("Use at least 8 characters (3 more).")
    ).to_be_visible()
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Repeat the new password").fill("a different passphrase")
    await page.get_by_role("button", name="Save the new password").click()
    await expect(page.get_by_text("The two passwords differ.")).to_be_visible()
    await check_screen(page, "15-reset-password")
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Save the new password").click()

    # Signed in with the new password; the spent token is gone from the address.
    await expect(
        page.get_by_text("Your password is changed. Sign in with the new one.")
    ).to_be_visible()
    assert "token" not in page.url
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(
        page.get_by_text("The email or the password is wrong.")
    ).to_be_visible()
    await page.get_by_label("Password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The same link a second time is refused in words.
    await page.get_by_role("button", name="Sign out").click()
    await page.goto(link)
    await page.get_by_label("New password", exact=True).fill("yet another passphrase")
    await page.get_by_label("Repeat the new password").fill("yet another passphrase")
    await page.get_by_role("button", name="Save the new password").click()
    await expect(
        page.get_by_text("This link is not valid any more. Ask for a new one.")
    ).to_be_visible()


async def test_an_expired_link_says_so_and_offers_a_new_one(
    page: Page, shop: Shop, mailbox: list[EmailMessage]
) -> None:
    email = await _account(shop)
    link = await _emailed_link(page, shop, mailbox, email)
    await _expire_every_reset_token(shop)

    await page.goto(link)
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Save the new password").click()

    await expect(
        page.get_by_text("This link has expired. Ask for a new one.")
    ).to_be_visible()
    await check_screen(page, "16-reset-link-expired")
    await page.get_by_role("link", name="Ask for a new link").click()
    await expect(
        page.get_by_role("heading", name="Forgot your password?")
    ).to_be_visible()


async def test_a_link_without_its_token_says_it_is_incomplete(
    page: Page, shop: Shop
) -> None:
    await page.goto(shop.at("/reset-password"))

    await expect(page.get_by_text("This link is incomplete.")).to_be_visible()
    await expect(page.get_by_label("New password", exact=True)).to_have_count(0)


async def _expire_every_reset_token(shop: Shop) -> None:
    engine = create_engine(shop.settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            await session.execute(
                update(PasswordResetToken).values(
                    expires_at=utcnow() - timedelta(seconds=1)
                )
            )
    finally:
        await engine.dispose()
