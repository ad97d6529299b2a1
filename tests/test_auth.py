"""Accounts and tokens, through the HTTP API first, then the subtle rules."""

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from passlib.context import CryptContext
from pydantic import SecretStr
from sqlalchemy import select, update

from app import security
from app.auth.service import change_password, ensure_superuser
from app.config import Settings
from app.models import RefreshToken, User, utcnow
from tests.conftest import PASSWORD
from tests.helpers import bearer, login, register, unique_email


async def _me(client: httpx.AsyncClient, tokens: dict[str, str]) -> httpx.Response:
    return await client.get("/me/", headers=bearer(tokens))


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/token/refresh/", json={"refresh_token": refresh_token})


def _assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"


# Registration


async def test_register_answers_the_new_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/register/",
        json={"email": "  Ada@Example.COM ", "password": PASSWORD, "full_name": "Ada"},
    )

    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "email", "full_name", "is_staff"}
    assert user["email"] == "ada@example.com"
    assert user["full_name"] == "Ada"
    assert user["is_staff"] is False
    assert isinstance(user["id"], int)


async def test_register_refuses_an_email_taken_in_another_case(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "Grace@example.com")

    response = await client.post(
        "/register/", json={"email": "grace@EXAMPLE.com", "password": PASSWORD}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"


async def test_concurrent_registrations_of_one_email_make_one_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    email = unique_email()
    body = {"email": email, "password": PASSWORD}

    responses = await asyncio.gather(
        *(client.post("/register/", json=body) for _ in range(4))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]
    assert all(r.json()["code"] == "email_taken" for r in responses if r.is_error)
    async with app.state.resources.session_factory() as session:
        found = await session.scalars(select(User).where(User.email == email))
        assert len(found.all()) == 1


@pytest.mark.parametrize("length", [7, 129])
async def test_register_refuses_a_password_of_bad_length(
    client: httpx.AsyncClient, length: int
) -> None:
    response = await client.post(
        "/register/", json={"email": unique_email(), "password": "p" * length}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "password"


@pytest.mark.parametrize("length", [8, 128])
async def test_register_accepts_a_password_at_the_length_limits(
    client: httpx.AsyncClient, length: int
) -> None:
    email = unique_email()
    password = "p" * length

    await register(client, email, password)

    assert (await login(client, email, password))["access_token"]


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("email", {"email": "not-an-email", "password": PASSWORD}),
        (
            "full_name",
            {"email": "x@example.com", "password": PASSWORD, "full_name": "n" * 201},
        ),
    ],
)
async def test_register_refuses_a_bad_field(
    client: httpx.AsyncClient, field: str, body: dict[str, str]
) -> None:
    response = await client.post("/register/", json=body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


# Login


async def test_login_answers_a_token_pair(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email()
    await register(client, email)

    response = await client.post(
        "/login/", json={"email": email.upper(), "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == settings.access_token_ttl_seconds
    me = await _me(client, tokens)
    assert me.status_code == 200
    assert me.json()["email"] == email


async def test_wrong_password_and_unknown_email_answer_alike(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, email)

    wrong_password = await client.post(
        "/login/", json={"email": email, "password": "not the password"}
    )
    unknown_email = await client.post(
        "/login/", json={"email": unique_email(), "password": PASSWORD}
    )

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.json()["code"] == "invalid_credentials"


async def test_token_form_login_gives_a_working_access_token(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, email)

    response = await client.post(
        "/token/", data={"username": email, "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert (await _me(client, tokens)).json()["email"] == email


async def test_token_form_login_refuses_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, email)

    response = await client.post(
        "/token/", data={"username": email, "password": "not the password"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


async def test_paths_answer_without_the_trailing_slash(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    register_response = await client.post(
        "/register", json={"email": email, "password": PASSWORD}
    )

    response = await client.post("/login", json={"email": email, "password": PASSWORD})

    assert register_response.status_code == 201
    assert response.status_code == 200, response.text
    me = await client.get("/me", headers=bearer(response.json()))
    assert me.json() == register_response.json()


# Who am I


@pytest.fixture
def expired_access_token(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """A token issued properly, but two TTLs ago."""
    issued_at = utcnow() - timedelta(seconds=2 * settings.access_token_ttl_seconds)
    with monkeypatch.context() as patch:
        patch.setattr(security, "utcnow", lambda: issued_at)
        return security.AccessTokens(settings).issue(user_id=1, token_version=0)


async def test_me_refuses_a_missing_garbled_or_expired_token(
    client: httpx.AsyncClient, expired_access_token: str
) -> None:
    expired = {"Authorization": f"Bearer {expired_access_token}"}
    for headers in ({}, {"Authorization": "Bearer garbage"}, expired):
        response = await client.get("/me/", headers=headers)

        assert response.status_code == 401, headers
        assert response.json()["code"] == "not_authenticated"


async def test_me_refuses_a_token_signed_with_another_key(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email()
    user = await register(client, email)
    other_key = settings.model_copy(update={"secret_key": SecretStr("x" * 40)})
    genuine = security.AccessTokens(settings).issue(user["id"], 0)
    forged = security.AccessTokens(other_key).issue(user["id"], 0)

    response = await client.get("/me/", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 401
    control = await client.get("/me/", headers={"Authorization": f"Bearer {genuine}"})
    assert control.status_code == 200


# Refresh and logout


async def test_refresh_rotates_and_the_spent_token_dies(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, email)
    first = await login(client, email)

    response = await _refresh(client, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await _me(client, second)).json()["email"] == email
    _assert_invalid_token(await _refresh(client, first["refresh_token"]))


async def test_reusing_a_spent_token_revokes_its_family(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, email)
    other_device = await login(client, email)
    first = await login(client, email)
    second = (await _refresh(client, first["refresh_token"])).json()

    _assert_invalid_token(await _refresh(client, first["refresh_token"]))

    _assert_invalid_token(await _refresh(client, second["refresh_token"]))
    assert (await _refresh(client, other_device["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_of_one_token_let_only_one_win(
    client: httpx.AsyncClient,
) -> None:
    email = unique_email()
    await register(client, email)
    tokens = await login(client, email)

    responses = await asyncio.gather(
        *(_refresh(client, tokens["refresh_token"]) for _ in range(3))
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401, 401], [r.text for r in responses]


async def test_refresh_refuses_unknown_and_expired_tokens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    email = unique_email()
    await register(client, email)
    tokens = await login(client, email)
    stored_as = security.fingerprint(tokens["refresh_token"])
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == stored_as)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    _assert_invalid_token(await _refresh(client, tokens["refresh_token"]))
    _assert_invalid_token(await _refresh(client, "no-such-token"))


async def test_logout_kills_the_refresh_token(client: httpx.AsyncClient) -> None:
    email = unique_email()
    await register(client, email)
    other_device = await login(client, email)
    tokens = await login(client, email)

    response = await client.post(
        "/logout/", json={"refresh_token": tokens["refresh_token"]}
    )

    assert response.status_code == 204
    assert response.content == b""
    _assert_invalid_token(await _refresh(client, tokens["refresh_token"]))
    assert (await _refresh(client, other_device["refresh_token"])).status_code == 200


async def test_logout_of_an_unknown_token_answers_the_same(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/logout/", json={"refresh_token": "no-such-token"})

    assert response.status_code == 204


# Service rules used by other areas


async def test_login_upgrades_a_hash_made_with_old_parameters(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    email = unique_email()
    user_id = (await register(client, email))["id"]
    old_parameters = CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=settings.argon2_memory_kib,
        argon2__time_cost=settings.argon2_time_cost + 1,
        argon2__parallelism=settings.argon2_parallelism,
    )
    old_hash = old_parameters.hash(PASSWORD)
    factory = app.state.resources.session_factory
    async with factory() as session, session.begin():
        (await session.get_one(User, user_id)).password_hash = old_hash

    await login(client, email)

    async with factory() as session:
        new_hash = (await session.get_one(User, user_id)).password_hash
    assert new_hash != old_hash
    assert f"t={settings.argon2_time_cost}," in new_hash
    assert (await login(client, email))["access_token"]


async def test_change_password_signs_the_user_out_everywhere(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    email = unique_email()
    user_id = (await register(client, email))["id"]
    tokens = await login(client, email)
    resources = app.state.resources

    async with resources.session_factory() as session, session.begin():
        user = await session.get_one(User, user_id)
        await change_password(session, resources.hasher, user, "a brand new password")

    assert (await _me(client, tokens)).status_code == 401
    _assert_invalid_token(await _refresh(client, tokens["refresh_token"]))
    assert (await login(client, email, "a brand new password"))["access_token"]


async def test_ensure_superuser_promotes_an_existing_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    email = unique_email()
    await register(client, email)
    resources = app.state.resources

    async with resources.session_factory() as session, session.begin():
        await ensure_superuser(
            session, resources.hasher, email=email.upper(), password="staff password"
        )

    tokens = await login(client, email, "staff password")
    assert (await _me(client, tokens)).json()["is_staff"] is True
    old_password = await client.post(
        "/login/", json={"email": email, "password": PASSWORD}
    )
    assert old_password.status_code == 401


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def app_log() -> Iterator[list[str]]:
    logger = logging.getLogger("app")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_logs_name_events_but_never_secrets(
    client: httpx.AsyncClient, app_log: list[str]
) -> None:
    email = unique_email()
    await register(client, email)
    first = await login(client, email)
    second = (await _refresh(client, first["refresh_token"])).json()
    await _refresh(client, first["refresh_token"])
    await client.post("/login/", json={"email": email, "password": "wrong password"})
    await client.post("/logout/", json={"refresh_token": second["refresh_token"]})

    text = "\n".join(app_log)
    assert "auth.login_failed" in text
    assert "auth.revoked_refresh_token_used" in text
    secrets = [PASSWORD, "wrong password", email, *first.values(), *second.values()]
    for secret in secrets:
        if isinstance(secret, str) and secret != "bearer":
            assert secret not in text
