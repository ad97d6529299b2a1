"""A sandbox payment gateway speaking the PaymentIntents wire format.

It accepts the well-known test payment methods (`pm_card_visa` succeeds,
`pm_card_chargeDeclined` is declined, ...) and honours `Idempotency-Key` as a
real gateway does: a repeat with the same parameters replays the first
answer; the same key with other parameters is refused. Run it alone with
`uvicorn app.payments.sandbox:app --port 8100` and point `PAYMENT_GATEWAY_URL`
at it.
"""

import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

_SUCCEEDING = {
    "pm_card_visa",
    "pm_card_visa_debit",
    "pm_card_mastercard",
    "pm_card_amex",
}
_DECLINES: dict[str, tuple[str, str, str]] = {
    "pm_card_chargeDeclined": (
        "card_declined",
        "generic_decline",
        "Your card was declined.",
    ),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": (
        "expired_card",
        "expired_card",
        "Your card has expired.",
    ),
    "pm_card_chargeDeclinedIncorrectCvc": (
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "pm_card_chargeDeclinedProcessingError": (
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}


@dataclass
class _Ledger:
    by_key: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = field(
        default_factory=dict
    )
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: int = 0


def _error(
    status: int, type_: str, message: str, **extra: Any
) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"type": type_, "message": message, **extra}}


def _confirm(ledger: _Ledger, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    if not params.get("amount", "").isdigit() or int(params["amount"]) < 1:
        return _error(400, "invalid_request_error", "Invalid amount.", param="amount")
    method = params.get("payment_method", "")
    if method not in _SUCCEEDING and method not in _DECLINES:
        return _error(
            400,
            "invalid_request_error",
            f"No such PaymentMethod: '{method}'",
            code="resource_missing",
            param="payment_method",
        )
    intent = {
        "id": f"pi_{secrets.token_hex(12)}",
        "object": "payment_intent",
        "amount": int(params["amount"]),
        "currency": params.get("currency", "usd"),
        "payment_method": method,
        "description": params.get("description"),
        "status": "succeeded",
    }
    ledger.intents[intent["id"]] = intent
    if method in _SUCCEEDING:
        ledger.charges += 1
        return 200, intent
    code, decline_code, message = _DECLINES[method]
    intent["status"] = "requires_payment_method"
    return _error(
        402,
        "card_error",
        message,
        code=code,
        decline_code=decline_code,
        payment_intent=intent,
    )


def create_sandbox_app() -> FastAPI:
    sandbox = FastAPI(title="Sandbox payment gateway", docs_url=None, redoc_url=None)
    ledger = _Ledger()
    sandbox.state.ledger = ledger

    @sandbox.post("/v1/payment_intents")
    async def create_payment_intent(
        request: Request,
        authorization: str = Header(default=""),
        idempotency_key: str | None = Header(default=None),
    ) -> JSONResponse:
        if not authorization.startswith("Bearer sk_test_"):
            status, body = _error(
                401, "invalid_request_error", "Invalid API key provided."
            )
            return JSONResponse(body, status_code=status)
        params = {k: str(v) for k, v in (await request.form()).items()}
        if idempotency_key is None:
            status, body = _confirm(ledger, params)
            return JSONResponse(body, status_code=status)
        if idempotency_key in ledger.by_key:
            first_params, status, body = ledger.by_key[idempotency_key]
            if first_params != params:
                status, body = _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with.",
                )
                return JSONResponse(body, status_code=status)
            return JSONResponse(
                body, status_code=status, headers={"Idempotent-Replayed": "true"}
            )
        status, body = _confirm(ledger, params)
        ledger.by_key[idempotency_key] = (params, status, body)
        return JSONResponse(body, status_code=status)

    @sandbox.get("/v1/payment_intents/{intent_id}")
    async def get_payment_intent(intent_id: str) -> JSONResponse:
        intent = ledger.intents.get(intent_id)
        if intent is None:
            status, body = _error(
                404,
                "invalid_request_error",
                f"No such payment_intent: '{intent_id}'",
                code="resource_missing",
            )
            return JSONResponse(body, status_code=status)
        return JSONResponse(intent)

    return sandbox


app = create_sandbox_app()
