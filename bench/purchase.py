"""Whole purchases: `python -m bench.purchase SPEC.json`, one virtual user per token.

Each virtual user adds a product to its cart, checks out, pays with the
sandbox's succeeding card and polls the payment until it has settled, then
starts again, until the time or the purchase count runs out. It prints one
`BENCH_RESULT {json}` line: purchases and requests, whole-purchase latency,
and errors (any unexpected status, a failed payment, or a purchase that did
not settle in time).
"""

import asyncio
import random
import sys
import time
import uuid
from typing import Any

import httpx

from bench.pyload import main, summary

_SETTLE_SECONDS = 30.0
_POLL_SECONDS = 0.02


class PurchaseFailed(Exception):
    pass


class _Tally:
    def __init__(self) -> None:
        self.purchases: list[float] = []
        self.requests = 0
        self.errors = 0


async def _call(
    client: httpx.AsyncClient, tally: _Tally, expected: int, method: str, path: str,
    **kwargs: Any,
) -> dict[str, Any]:  # fmt: skip
    tally.requests += 1
    response = await client.request(method, path, **kwargs)
    if response.status_code != expected:
        raise PurchaseFailed(f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


async def _settle(client: httpx.AsyncClient, tally: _Tally, payment_id: int) -> None:
    deadline = time.monotonic() + _SETTLE_SECONDS
    while time.monotonic() < deadline:
        payment = await _call(client, tally, 200, "GET", f"/payments/{payment_id}/")
        if payment["status"] == "succeeded":
            return
        if payment["status"] == "failed":
            raise PurchaseFailed(f"payment {payment_id} failed")
        await asyncio.sleep(_POLL_SECONDS)
    raise PurchaseFailed(f"payment {payment_id} did not settle")


async def _purchase(client: httpx.AsyncClient, tally: _Tally, products: int) -> None:
    item = {"product_id": random.randint(1, products), "quantity": 1}
    await _call(client, tally, 201, "POST", "/cart/items/", json=item)
    order = await _call(
        client, tally, 201, "POST", "/checkout/",
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    payment = await _call(
        client, tally, 202, "POST", "/payments/",
        json={"order_id": order["id"], "payment_method": "pm_card_visa"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    await _settle(client, tally, payment["id"])


async def _virtual_user(
    spec: dict[str, Any], token: str, deadline: float, tally: _Tally
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=spec["base_url"], headers=headers, timeout=30.0
    ) as client:
        while (
            time.monotonic() < deadline and len(tally.purchases) < spec["max_purchases"]
        ):
            started = time.perf_counter()
            try:
                await _purchase(client, tally, spec["products"])
            except (PurchaseFailed, httpx.HTTPError) as exc:
                tally.errors += 1
                print(f"purchase failed: {exc}"[:300], file=sys.stderr)
                continue
            tally.purchases.append(time.perf_counter() - started)


async def run(spec: dict[str, Any]) -> dict[str, int]:
    tally = _Tally()
    started = time.monotonic()
    deadline = started + spec["seconds"]
    await asyncio.gather(
        *(_virtual_user(spec, token, deadline, tally) for token in spec["tokens"])
    )
    # Latencies are of whole purchases; `requests` counts every HTTP call.
    result = summary(tally.purchases, started, tally.errors)
    return {**result, "purchases": len(tally.purchases), "requests": tally.requests}


if __name__ == "__main__":
    main(run)
