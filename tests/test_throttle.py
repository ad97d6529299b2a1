"""Guessing passwords and flooding reset emails are slowed down."""

import time

import httpx
import pytest
from fastapi import FastAPI

from app.throttle import Throttle, TooManyAttempts
from tests.conftest import PASSWORD
from tests.helpers import register, unique_email


def _client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_repeated_wrong_passwords_are_slowed_per_account_and_address(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    email = unique_email()
    await register(client, email)
    wrong = {"email": email, "password": "not the password"}

    async with _client_from(app, "203.0.113.7") as attacker:
        answers = [
            (await attacker.post("/login/", json=wrong)).status_code for _ in range(10)
        ]
        blocked = await attacker.post(
            "/login/", json={"email": email, "password": PASSWORD}
        )

    assert answers == [401] * 10
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "too_many_attempts"
    assert int(blocked.headers["retry-after"]) > 0
    # The owner, elsewhere, still gets in.
    async with _client_from(app, "198.51.100.4") as owner:
        assert (
            await owner.post("/login/", json={"email": email, "password": PASSWORD})
        ).status_code == 200


async def test_a_good_login_clears_the_count(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    email = unique_email()
    await register(client, email)

    for _ in range(3):
        for _ in range(9):
            await client.post(
                "/login/", json={"email": email, "password": "wrong password"}
            )
        ok = await client.post("/login/", json={"email": email, "password": PASSWORD})
        assert ok.status_code == 200


async def test_reset_requests_are_capped_per_address(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)

    answers = [
        (await client.post("/password-reset/", json={"email": email})).status_code
        for _ in range(6)
    ]

    assert answers == [202] * 5 + [429]


def test_a_throttle_forgets_outside_its_window() -> None:
    throttle = Throttle(limit=2, window_seconds=0.2)
    throttle.record("k")
    throttle.record("k")

    with pytest.raises(TooManyAttempts):
        throttle.check("k")
    time.sleep(0.25)
    throttle.check("k")


def test_a_throttle_keeps_a_bounded_number_of_keys() -> None:
    throttle = Throttle(limit=1, window_seconds=60, max_keys=3)
    for key in "abcd":
        throttle.record(key)

    throttle.check("a")  # the oldest key was dropped
    with pytest.raises(TooManyAttempts):
        throttle.check("d")
