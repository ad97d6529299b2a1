"""Paying an order: the worker charges the sandbox gateway and records the outcome."""

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.models import Order, OrderStatus, Payment, PaymentStatus
from app.payments.gateway import HttpGateway
from app.payments.jobs import charge_payment
from app.payments.sandbox import create_sandbox_app
from app.worker import build_worker
from tests.helpers import create_product, eventually, shopper, staff


async def _place_order(
    app: FastAPI, client: httpx.AsyncClient, buyer: dict[str, str], price: int = 2500
) -> dict[str, Any]:
    product = await create_product(client, await staff(app, client), price=price)
    added = await client.post(
        "/cart/items/", json={"product_id": product["id"], "quantity": 2}, headers=buyer
    )
    assert added.status_code == 201, added.text
    placed = await client.post("/checkout/", headers=buyer)
    assert placed.status_code == 201, placed.text
    return placed.json()


async def _pay(
    client: httpx.AsyncClient, buyer: dict[str, str], order_id: int, method: str
) -> httpx.Response:
    body = {"order_id": order_id, "payment_method": method}
    return await client.post("/payments/", json=body, headers=buyer)


async def _settled(
    client: httpx.AsyncClient, buyer: dict[str, str], payment_id: int
) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        response = await client.get(f"/payments/{payment_id}/", headers=buyer)
        assert response.status_code == 200, response.text
        return response.json()

    return await eventually(probe, lambda payment: payment["status"] != "processing")


async def _order_status(
    client: httpx.AsyncClient, buyer: dict[str, str], order_id: int
) -> str:
    return (await client.get(f"/orders/{order_id}/", headers=buyer)).json()["status"]


async def test_paying_with_a_good_card_marks_the_order_paid(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer, price=2500)

    response = await _pay(client, buyer, order["id"], "pm_card_visa")

    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "processing"
    assert started["order_id"] == order["id"]
    assert (started["amount"], started["currency"]) == (5000, "USD")
    assert started["payment_method"] == "pm_card_visa"
    assert started["failure_code"] is None and started["failure_reason"] is None
    settled = await _settled(client, buyer, started["id"])
    assert settled["status"] == "succeeded"
    assert settled["failure_code"] is None
    assert await _order_status(client, buyer, order["id"]) == "paid"


async def test_a_declined_card_fails_and_the_order_stays_payable(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)

    declined = await _pay(client, buyer, order["id"], "pm_card_chargeDeclined")
    failed = await _settled(client, buyer, declined.json()["id"])

    assert failed["status"] == "failed"
    assert failed["failure_code"] == "generic_decline"
    assert failed["failure_reason"] == "Your card was declined."
    assert await _order_status(client, buyer, order["id"]) == "pending_payment"
    retry = await _pay(client, buyer, order["id"], "pm_card_visa")
    assert retry.status_code == 202, retry.text
    assert (await _settled(client, buyer, retry.json()["id"]))["status"] == "succeeded"
    assert await _order_status(client, buyer, order["id"]) == "paid"


async def test_an_unknown_payment_method_fails_as_missing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)

    response = await _pay(client, buyer, order["id"], "pm_card_doesNotExist")
    failed = await _settled(client, buyer, response.json()["id"])

    assert failed["status"] == "failed"
    assert failed["failure_code"] == "resource_missing"
    assert await _order_status(client, buyer, order["id"]) == "pending_payment"


async def test_a_paid_order_cannot_be_paid_again(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)
    first = await _pay(client, buyer, order["id"], "pm_card_visa")
    await _settled(client, buyer, first.json()["id"])

    response = await _pay(client, buyer, order["id"], "pm_card_visa")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This order is already paid",
        "code": "order_already_paid",
    }


async def test_a_cancelled_order_cannot_be_paid(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(Order)
            .where(Order.id == order["id"])
            .values(status=OrderStatus.CANCELLED)
        )

    response = await _pay(client, buyer, order["id"], "pm_card_visa")

    assert response.status_code == 409
    assert response.json()["code"] == "order_not_payable"


async def test_someone_elses_order_and_payment_are_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await shopper(client)
    order = await _place_order(app, client, owner)
    payment = (await _pay(client, owner, order["id"], "pm_card_visa")).json()
    stranger = await shopper(client)

    paying = await _pay(client, stranger, order["id"], "pm_card_visa")
    reading = await client.get(f"/payments/{payment['id']}/", headers=stranger)
    unknown = await _pay(client, owner, order["id"] + 1000, "pm_card_visa")

    for response in (paying, reading, unknown):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    await _settled(client, owner, payment["id"])


async def test_payments_need_a_signed_in_shopper(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/payments/", json={"order_id": 1, "payment_method": "pm_card_visa"}
    )

    assert response.status_code == 401


async def test_the_client_cannot_choose_the_amount(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)

    response = await client.post(
        "/payments/",
        json={"order_id": order["id"], "payment_method": "pm_card_visa", "amount": 1},
        headers=buyer,
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert [error["field"] for error in body["errors"]] == ["amount"]


@pytest.mark.parametrize("card_number", ["4242424242424242", "4242 4242 4242 4242"])
async def test_a_card_number_is_refused_and_never_echoed(
    app: FastAPI, client: httpx.AsyncClient, card_number: str
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)

    response = await _pay(client, buyer, order["id"], card_number)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "payment_method"
    assert card_number not in response.text


@pytest.mark.parametrize(
    "method", ["pm_", "pm_card visa", "card_visa", "", "pm_" + "a" * 97]
)
async def test_only_gateway_tokens_are_accepted_as_payment_method(
    app: FastAPI, client: httpx.AsyncClient, method: str
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)

    response = await _pay(client, buyer, order["id"], method)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "payment_method"


async def test_a_second_payment_waits_for_the_first_to_finish(
    paused_app: FastAPI, paused_client: httpx.AsyncClient
) -> None:
    client = paused_client
    buyer = await shopper(client)
    order = await _place_order(paused_app, client, buyer)
    first = await _pay(client, buyer, order["id"], "pm_card_visa")
    assert first.status_code == 202

    second = await _pay(client, buyer, order["id"], "pm_card_mastercard")

    assert second.status_code == 409
    assert second.json()["code"] == "payment_in_progress"
    assert await build_worker(paused_app.state.resources).run_until_idle() == 1
    paid = await client.get(f"/payments/{first.json()['id']}/", headers=buyer)
    assert paid.json()["status"] == "succeeded"
    third = await _pay(client, buyer, order["id"], "pm_card_mastercard")
    assert third.json()["code"] == "order_already_paid"


async def test_simultaneous_payments_for_one_order_start_one_charge(
    paused_app: FastAPI, paused_client: httpx.AsyncClient
) -> None:
    client = paused_client
    buyer = await shopper(client)
    order = await _place_order(paused_app, client, buyer)

    responses = await asyncio.gather(
        *(_pay(client, buyer, order["id"], "pm_card_visa") for _ in range(5))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [202, 409, 409, 409, 409], [r.text for r in responses]
    refused = [r.json()["code"] for r in responses if r.status_code == 409]
    assert set(refused) == {"payment_in_progress"}


async def test_charging_twice_takes_the_money_once(
    paused_app: FastAPI, paused_client: httpx.AsyncClient
) -> None:
    client = paused_client
    buyer = await shopper(client)
    order = await _place_order(paused_app, client, buyer)
    payment = (await _pay(client, buyer, order["id"], "pm_card_visa")).json()
    sandbox = create_sandbox_app()
    gateway_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url="http://sandbox.test"
    )
    resources = dataclasses.replace(
        paused_app.state.resources, gateway=HttpGateway(gateway_client, "sk_test_x")
    )
    job = {"payment_id": payment["id"]}

    # The worker charged, then died before it could record anything.
    first = await resources.gateway.charge(
        amount=payment["amount"],
        currency=payment["currency"],
        payment_method="pm_card_visa",
        idempotency_key=f"payment-{payment['id']}",
        description=f"Order {order['id']}",
    )
    await charge_payment(resources, job)
    await charge_payment(resources, job)
    await gateway_client.aclose()

    again = await _stored_payment(paused_app, payment["id"])
    assert sandbox.state.ledger.charges == 1
    assert first.succeeded and again.status == PaymentStatus.SUCCEEDED
    assert again.gateway_reference == first.reference
    assert again.gateway_reference.startswith("pi_")
    assert await _order_status(client, buyer, order["id"]) == "paid"


async def _stored_payment(app: FastAPI, payment_id: int) -> Payment:
    async with app.state.resources.session_factory() as session:
        payment = await session.get(Payment, payment_id)
    assert payment is not None
    return payment


async def _set_payment_status(app: FastAPI, payment_id: int, status: str) -> None:
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(Payment).where(Payment.id == payment_id).values(status=status)
        )


async def test_a_payment_retried_with_its_idempotency_key_starts_one_charge(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    buyer = await shopper(client)
    order = await _place_order(app, client, buyer)
    keyed = {**buyer, "Idempotency-Key": "pay-order-once"}
    body = {"order_id": order["id"], "payment_method": "pm_card_visa"}

    first = await client.post("/payments/", json=body, headers=keyed)
    again = await client.post("/payments/", json=body, headers=keyed)
    other_body = await client.post(
        "/payments/", json={**body, "payment_method": "pm_card_amex"}, headers=keyed
    )

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    assert (await _settled(client, buyer, first.json()["id"]))["status"] == "succeeded"


async def test_an_order_cancelled_before_its_charge_is_never_charged(
    paused_app: FastAPI, paused_client: httpx.AsyncClient
) -> None:
    client = paused_client
    buyer = await shopper(client)
    order = await _place_order(paused_app, client, buyer)
    payment = (await _pay(client, buyer, order["id"], "pm_card_visa")).json()
    async with paused_app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(Order)
            .where(Order.id == order["id"])
            .values(status=OrderStatus.CANCELLED)
        )

    await build_worker(paused_app.state.resources).run_until_idle()

    failed = (await client.get(f"/payments/{payment['id']}/", headers=buyer)).json()
    assert failed["status"] == "failed"
    assert failed["failure_code"] == "order_not_payable"
    assert await _order_status(client, buyer, order["id"]) == "cancelled"


async def test_a_free_order_is_paid_without_calling_the_gateway(
    paused_app: FastAPI, paused_client: httpx.AsyncClient
) -> None:
    client = paused_client
    buyer = await shopper(client)
    order = await _place_order(paused_app, client, buyer, price=0)

    paid = await _pay(client, buyer, order["id"], "pm_card_visa")

    assert paid.status_code == 202
    assert paid.json()["status"] == "succeeded"
    assert await _order_status(client, buyer, order["id"]) == "paid"
    assert await build_worker(paused_app.state.resources).run_until_idle() == 0
