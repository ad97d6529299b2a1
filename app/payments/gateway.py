"""The payment gateway seen from the shop: one call, `charge`, over HTTP.

The wire format is the best-known gateway's PaymentIntents API, so the
sandbox (`app.payments.sandbox`) and a real provider are reached the same
way. Every charge carries an idempotency key derived from the payment: a
retried job can never charge twice.
"""

from dataclasses import dataclass
from typing import Protocol

import httpx

from app.config import Settings


@dataclass(frozen=True)
class ChargeOutcome:
    succeeded: bool
    reference: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None


class GatewayUnavailable(Exception):
    """The gateway could not be reached or failed on its side: try again later."""


class PaymentGateway(Protocol):
    async def charge(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeOutcome: ...

    async def aclose(self) -> None: ...


class HttpGateway:
    def __init__(self, client: httpx.AsyncClient, api_key: str) -> None:
        self._client = client
        self._api_key = api_key

    async def charge(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        description: str,
    ) -> ChargeOutcome:
        form = {
            "amount": str(amount),
            "currency": currency.lower(),
            "payment_method": payment_method,
            "confirm": "true",
            "description": description,
        }
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Idempotency-Key": idempotency_key,
        }
        try:
            response = await self._client.post(
                "/v1/payment_intents", data=form, headers=headers
            )
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(type(exc).__name__) from exc
        return _outcome(response)

    async def aclose(self) -> None:
        await self._client.aclose()


# Nothing was charged and the shopper can do nothing about it: a rate limit, an
# outage, or our own key refused. The job retries and, failing that, parks dead
# where staff see it.
_RETRY_STATUSES = {401, 403, 429}


def _outcome(response: httpx.Response) -> ChargeOutcome:
    if response.status_code in _RETRY_STATUSES or response.status_code >= 500:
        raise GatewayUnavailable(f"gateway answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise GatewayUnavailable("gateway answered with no JSON") from exc
    if response.is_success and body.get("status") == "succeeded":
        return ChargeOutcome(succeeded=True, reference=body.get("id"))
    if response.is_success:
        return ChargeOutcome(
            succeeded=False,
            reference=body.get("id"),
            failure_code="unexpected_status",
            failure_message=f"The gateway left the payment {body.get('status')!r}.",
        )
    error = body.get("error") or {}
    intent = error.get("payment_intent") or {}
    return ChargeOutcome(
        succeeded=False,
        reference=intent.get("id"),
        failure_code=error.get("decline_code") or error.get("code") or "gateway_error",
        failure_message=error.get("message") or "The payment was refused.",
    )


def create_gateway(settings: Settings) -> PaymentGateway:
    if settings.payment_gateway != "sandbox":
        raise ValueError(f"unknown PAYMENT_GATEWAY {settings.payment_gateway!r}")
    timeout = httpx.Timeout(settings.payment_gateway_timeout_seconds)
    api_key = settings.payment_gateway_api_key.get_secret_value()
    if settings.payment_gateway_url is not None:
        client = httpx.AsyncClient(
            base_url=str(settings.payment_gateway_url), timeout=timeout
        )
    else:
        # No URL: the sandbox runs inside this process, still spoken to over HTTP.
        from app.payments.sandbox import create_sandbox_app

        transport = httpx.ASGITransport(app=create_sandbox_app())
        client = httpx.AsyncClient(
            transport=transport, base_url="http://sandbox.gateway", timeout=timeout
        )
    return HttpGateway(client, api_key)
