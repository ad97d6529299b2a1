"""A shopper's whole day, through the HTTP API, with real SMTP and the gateway."""

import re
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import PASSWORD
from tests.helpers import bearer, create_product, eventually, staff, unique_email

NEW_PASSWORD = "a brand new passphrase"


def _reset_token(message: EmailMessage) -> str:
    text = next(
        part.get_content()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    match = re.search(r"https?://\S+\?token=([A-Za-z0-9_\-]+)", text)
    assert match, f"no reset link in the email: {text!r}"
    return match.group(1)


async def _payment_settled(
    client: httpx.AsyncClient, payment_id: int, headers: dict[str, str]
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        return (await client.get(f"/payments/{payment_id}/", headers=headers)).json()

    return await eventually(probe, lambda p: p["status"] != "processing")


async def test_register_shop_pay_forget_reset_and_log_in_again(
    app: FastAPI, client: httpx.AsyncClient, mailbox: list[EmailMessage]
) -> None:
    orders = await shop_journey(client, await staff(app, client), mailbox)

    assert [order["status"] for order in orders] == ["paid"]


async def shop_journey(
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    mailbox: list[EmailMessage],
) -> list[dict[str, Any]]:
    """Everything a shopper does, asserted step by step; answers their orders."""
    mug = await create_product(
        client, staff_headers, name="Travel Mug", price=2799, stock=5
    )
    beans = await create_product(
        client, staff_headers, name="Espresso Beans", price=1250, stock=9
    )
    email = unique_email()

    # Register and log in (the email's case does not matter).
    registered = await client.post(
        "/register/",
        json={"email": email.upper(), "password": PASSWORD, "full_name": "Ada"},
    )
    assert registered.status_code == 201
    assert registered.json()["email"] == email
    tokens = (
        await client.post("/login/", json={"email": email, "password": PASSWORD})
    ).json()
    headers = bearer(tokens)
    assert (await client.get("/me/", headers=headers)).json()["full_name"] == "Ada"

    # Browse and fill the cart.
    found = (await client.get("/products/", params={"q": "mug"})).json()
    assert [p["id"] for p in found["items"]] == [mug["id"]]
    await client.post(
        "/cart/items/", json={"product_id": mug["id"], "quantity": 2}, headers=headers
    )
    cart = await client.post(
        "/cart/items/", json={"product_id": beans["id"], "quantity": 1}, headers=headers
    )
    assert cart.status_code == 201
    assert cart.json()["total"] == 2 * 2799 + 1250

    # Check out: stock reserved, cart emptied.
    order = (await client.post("/checkout/", headers=headers)).json()
    assert order["status"] == "pending_payment"
    assert order["total"] == 2 * 2799 + 1250
    assert (await client.get(f"/products/{mug['id']}/")).json()["stock"] == 3
    assert (await client.get("/cart/", headers=headers)).json()["items"] == []

    # A declined card leaves the order payable; a good card pays it.
    declined = await client.post(
        "/payments/",
        json={"order_id": order["id"], "payment_method": "pm_card_chargeDeclined"},
        headers=headers,
    )
    assert declined.status_code == 202
    failed = await _payment_settled(client, declined.json()["id"], headers)
    assert failed["status"] == "failed"
    assert failed["failure_reason"]

    paying = await client.post(
        "/payments/",
        json={"order_id": order["id"], "payment_method": "pm_card_visa"},
        headers=headers,
    )
    assert paying.json()["amount"] == order["total"]
    paid = await _payment_settled(client, paying.json()["id"], headers)
    assert paid["status"] == "succeeded"
    assert (await client.get(f"/orders/{order['id']}/", headers=headers)).json()[
        "status"
    ] == "paid"

    # Forget the password, read the emailed link, set a new one.
    asked = await client.post("/password-reset/", json={"email": email})
    assert asked.status_code == 202
    message = await eventually(
        lambda: _first_to(mailbox, email), lambda m: m is not None
    )
    confirmed = await client.post(
        "/password-reset/confirm/",
        json={"token": _reset_token(message), "new_password": NEW_PASSWORD},
    )
    assert confirmed.status_code == 200

    # Everything issued before the reset is dead; the new password works.
    assert (await client.get("/me/", headers=headers)).status_code == 401
    refreshed = await client.post(
        "/token/refresh/", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401
    old = await client.post("/login/", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post("/login/", json={"email": email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    orders = (await client.get("/orders/", headers=bearer(new.json()))).json()
    return orders["items"]


async def _first_to(mailbox: list[EmailMessage], address: str) -> EmailMessage | None:
    return next((m for m in mailbox if m["To"] == address), None)
