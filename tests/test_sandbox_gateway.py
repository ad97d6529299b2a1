"""The sandbox gateway over HTTP, and how `HttpGateway` reads its answers."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.payments.gateway import ChargeOutcome, GatewayUnavailable, HttpGateway
from app.payments.sandbox import create_sandbox_app
from tests.conftest import free_port

API_KEY = "sk_test_shop"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _intent(payment_method: str, amount: int = 1500) -> dict[str, str]:
    return {
        "amount": str(amount),
        "currency": "usd",
        "payment_method": payment_method,
        "confirm": "true",
        "description": "Order 1",
    }


@pytest.fixture
def sandbox() -> FastAPI:
    return create_sandbox_app()


@pytest.fixture
async def gateway_http(sandbox: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url="http://sb") as http:
        yield http


async def test_a_good_card_succeeds(
    sandbox: FastAPI, gateway_http: httpx.AsyncClient
) -> None:
    response = await gateway_http.post(
        "/v1/payment_intents", data=_intent("pm_card_visa"), headers=AUTH
    )

    assert response.status_code == 200
    intent = response.json()
    assert intent["status"] == "succeeded"
    assert intent["id"].startswith("pi_")
    assert (intent["amount"], intent["currency"]) == (1500, "usd")
    assert sandbox.state.ledger.charges == 1
    fetched = await gateway_http.get(f"/v1/payment_intents/{intent['id']}")
    assert fetched.json()["id"] == intent["id"]


async def test_a_declined_card_is_a_card_error(
    sandbox: FastAPI, gateway_http: httpx.AsyncClient
) -> None:
    response = await gateway_http.post(
        "/v1/payment_intents", data=_intent("pm_card_chargeDeclined"), headers=AUTH
    )

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["type"] == "card_error"
    assert error["code"] == "card_declined"
    assert error["decline_code"] == "generic_decline"
    assert error["message"] == "Your card was declined."
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert sandbox.state.ledger.charges == 0


async def test_a_repeated_key_replays_the_first_answer(
    sandbox: FastAPI, gateway_http: httpx.AsyncClient
) -> None:
    headers = {**AUTH, "Idempotency-Key": "payment-1"}

    first = await gateway_http.post(
        "/v1/payment_intents", data=_intent("pm_card_visa"), headers=headers
    )
    again = await gateway_http.post(
        "/v1/payment_intents", data=_intent("pm_card_visa"), headers=headers
    )

    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert sandbox.state.ledger.charges == 1


async def test_a_repeated_key_with_other_parameters_is_refused(
    sandbox: FastAPI, gateway_http: httpx.AsyncClient
) -> None:
    headers = {**AUTH, "Idempotency-Key": "payment-2"}
    await gateway_http.post(
        "/v1/payment_intents", data=_intent("pm_card_visa", 1500), headers=headers
    )

    response = await gateway_http.post(
        "/v1/payment_intents", data=_intent("pm_card_visa", 9999), headers=headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "idempotency_error"
    assert sandbox.state.ledger.charges == 1


async def test_a_missing_api_key_is_refused(
    sandbox: FastAPI, gateway_http: httpx.AsyncClient
) -> None:
    response = await gateway_http.post(
        "/v1/payment_intents", data=_intent("pm_card_visa")
    )

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert sandbox.state.ledger.charges == 0


async def _charge(gateway: HttpGateway, payment_method: str, key: str) -> ChargeOutcome:
    return await gateway.charge(
        amount=1500,
        currency="USD",
        payment_method=payment_method,
        idempotency_key=key,
        description="Order 1",
    )


async def test_http_gateway_reads_a_success(gateway_http: httpx.AsyncClient) -> None:
    outcome = await _charge(HttpGateway(gateway_http, API_KEY), "pm_card_visa", "k-1")

    assert outcome.succeeded
    assert outcome.reference is not None and outcome.reference.startswith("pi_")
    assert outcome.failure_code is None


async def test_http_gateway_reads_a_decline(gateway_http: httpx.AsyncClient) -> None:
    outcome = await _charge(
        HttpGateway(gateway_http, API_KEY), "pm_card_chargeDeclined", "k-2"
    )

    assert not outcome.succeeded
    assert outcome.failure_code == "generic_decline"
    assert outcome.failure_message == "Your card was declined."
    assert outcome.reference is not None


@pytest.mark.parametrize(
    ("payment_method", "code"),
    [
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
        ("pm_card_unknown", "resource_missing"),
    ],
)
async def test_http_gateway_reports_the_reason_for_a_refusal(
    gateway_http: httpx.AsyncClient, payment_method: str, code: str
) -> None:
    outcome = await _charge(HttpGateway(gateway_http, API_KEY), payment_method, "k-3")

    assert not outcome.succeeded
    assert outcome.failure_code == code
    assert outcome.failure_message


async def _answer_503(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A gateway having a bad day: every request gets a 503."""
    if scope["type"] != "http":
        return
    await receive()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    body = b'{"error": {"message": "down"}}'
    await send({"type": "http.response.body", "body": body})


async def test_http_gateway_treats_a_5xx_as_unavailable() -> None:
    transport = httpx.ASGITransport(app=_answer_503)
    async with httpx.AsyncClient(transport=transport, base_url="http://down") as http:
        with pytest.raises(GatewayUnavailable):
            await _charge(HttpGateway(http, API_KEY), "pm_card_visa", "k-4")


async def test_http_gateway_treats_no_connection_as_unavailable() -> None:
    # Nothing listens on this loopback port: the connection is refused.
    base_url = f"http://127.0.0.1:{free_port()}"
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as http:
        with pytest.raises(GatewayUnavailable):
            await _charge(HttpGateway(http, API_KEY), "pm_card_visa", "k-5")


async def test_http_gateway_retries_when_its_own_key_is_refused(
    gateway_http: httpx.AsyncClient,
) -> None:
    # A bad key is the shop's fault, not the shopper's: retry, never fail the payment.
    with pytest.raises(GatewayUnavailable):
        await _charge(HttpGateway(gateway_http, "wrong-key"), "pm_card_visa", "k-6")
