"""Password reset through the HTTP API, with real SMTP and the real job worker."""

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiosmtplib
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import delete, select, update

from app.config import Settings
from app.main import create_app
from app.models import Job, JobStatus, PasswordResetToken, utcnow
from app.password_reset.jobs import SEND_RESET_EMAIL, reset_link, send_reset_email
from app.security import fingerprint
from tests.conftest import PASSWORD
from tests.helpers import bearer, eventually, login, register, unique_email

NEW_PASSWORD = "a brand new passphrase"


# --- helpers ---------------------------------------------------------------


@asynccontextmanager
async def _serve(
    settings: Settings,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of our own, for a test that needs settings the fixture lacks."""
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        async with http:
            try:
                yield application, http
            finally:
                await _delete_reset_jobs(application)


async def _delete_reset_jobs(app: FastAPI) -> None:
    # Left queued, they would be mailed by the next test's worker.
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(delete(Job).where(Job.name == SEND_RESET_EMAIL))


def _closed_port() -> int:
    """A loopback port nothing listens on: an SMTP server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            charset = part.get_content_charset() or "utf-8"
            return part.get_payload(decode=True).decode(charset)
    raise AssertionError("the email has no text part")


def _token_in(message: Message) -> str:
    match = re.search(r"(https?://\S+)", _text_part(message))
    assert match, "no link in the email"
    link = urlsplit(match.group(1))
    assert link.netloc == "shop.test" and link.path == "/reset-password"
    return parse_qs(link.query)["token"][0]


async def _mail_to(
    mailbox: list[Message], address: str, count: int = 1
) -> list[Message]:
    async def probe() -> list[Message]:
        return [m for m in mailbox if m["To"] == address]

    return await eventually(probe, lambda found: len(found) >= count)


async def _ask_reset(
    client: httpx.AsyncClient, email: str, path: str = "/password-reset/"
) -> None:
    response = await client.post(path, json={"email": email})
    assert response.status_code == 202, response.text
    assert response.json() == {"detail": "Check your email for a reset link"}


async def _emailed_token(
    client: httpx.AsyncClient, mailbox: list[Message], email: str, count: int = 1
) -> str:
    await _ask_reset(client, email)
    return _token_in((await _mail_to(mailbox, email, count))[-1])


async def _confirm(
    client: httpx.AsyncClient, token: Any, password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/password-reset/confirm/", json={"token": token, "new_password": password}
    )


async def _reset_jobs(app: FastAPI) -> list[Job]:
    async with app.state.resources.session_factory() as session:
        query = select(Job).where(Job.name == SEND_RESET_EMAIL).order_by(Job.id)
        return list(await session.scalars(query))


async def _registered(client: httpx.AsyncClient) -> str:
    email = unique_email()
    await register(client, email)
    return email


# --- the whole flow --------------------------------------------------------


async def test_emailed_link_sets_a_new_password_and_ends_every_session(
    client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)
    before = await login(client, email)

    token = await _emailed_token(client, mailbox, email)
    confirmed = await _confirm(client, token)

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"detail": "Password changed"}
    old = await client.post("/login/", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post("/login/", json={"email": email, "password": NEW_PASSWORD})
    assert new.status_code == 200
    assert (await client.get("/me/", headers=bearer(before))).status_code == 401
    refreshed = await client.post(
        "/token/refresh/", json={"refresh_token": before["refresh_token"]}
    )
    assert refreshed.status_code == 401
    assert (await client.get("/me/", headers=bearer(new.json()))).status_code == 200


async def test_email_has_a_text_and_an_html_part_with_the_link(
    client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)

    await _ask_reset(client, email)
    [message] = await _mail_to(mailbox, email)

    assert message["Subject"] == "Reset your password"
    types = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= types
    token = _token_in(message)
    assert len(token) >= 43


async def test_email_lookup_ignores_case(
    client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)

    await _ask_reset(client, email.upper())

    assert await _mail_to(mailbox, email)


async def test_token_works_once(
    client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)
    token = await _emailed_token(client, mailbox, email)
    assert (await _confirm(client, token)).status_code == 200

    again = await _confirm(client, token, "yet another passphrase")

    assert again.status_code == 400
    assert again.json()["code"] == "token_invalid"
    new = await client.post("/login/", json={"email": email, "password": NEW_PASSWORD})
    assert new.status_code == 200


async def test_newer_request_makes_the_older_token_invalid(
    client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)
    older = await _emailed_token(client, mailbox, email)
    newer = await _emailed_token(client, mailbox, email, count=2)

    stale = await _confirm(client, older)
    fresh = await _confirm(client, newer)

    assert older != newer
    assert stale.status_code == 400
    assert stale.json()["code"] == "token_invalid"
    assert fresh.status_code == 200


async def test_expired_token_is_refused_with_its_own_code(
    app: FastAPI, client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)
    token = await _emailed_token(client, mailbox, email)
    async with app.state.resources.session_factory() as session, session.begin():
        await session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.token_hash == fingerprint(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )

    response = await _confirm(client, token)

    assert response.status_code == 400
    assert response.json() == {"detail": "Token expired", "code": "token_expired"}
    old = await client.post("/login/", json={"email": email, "password": PASSWORD})
    assert old.status_code == 200


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "x" * 100_000, "🔑 not-a-token", "A" * 43],
    ids=["empty", "word", "huge", "unicode", "token-shaped"],
)
async def test_a_string_that_is_no_live_token_is_token_invalid(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await _confirm(client, token)

    assert response.status_code == 400
    assert response.json()["code"] == "token_invalid"


@pytest.mark.parametrize("password", ["short", "x" * 129], ids=["7-chars", "129-chars"])
async def test_weak_password_is_422_and_leaves_the_token_usable(
    client: httpx.AsyncClient, mailbox: list[Message], password: str
) -> None:
    email = await _registered(client)
    token = await _emailed_token(client, mailbox, email)

    weak = await _confirm(client, token, password)
    strong = await _confirm(client, token)

    assert weak.status_code == 422
    body = weak.json()
    assert body["code"] == "validation_error"
    assert [e["field"] for e in body["errors"]] == ["new_password"]
    assert strong.status_code == 200


async def test_malformed_email_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/password-reset/", json={"email": "not an email"})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_two_confirms_racing_with_one_token_let_exactly_one_win(
    client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)
    token = await _emailed_token(client, mailbox, email)
    passwords = ["first racing passphrase", "second racing passphrase"]

    answers = await asyncio.gather(*(_confirm(client, token, p) for p in passwords))

    assert sorted(a.status_code for a in answers) == [200, 400]
    loser = next(a for a in answers if a.status_code == 400)
    assert loser.json()["code"] == "token_invalid"
    for password, answer in zip(passwords, answers, strict=True):
        body = {"email": email, "password": password}
        logged_in = await client.post("/login/", json=body)
        # Only the password of the confirm that won was stored.
        assert (logged_in.status_code == 200) == (answer.status_code == 200)


async def test_trailing_slash_twins_answer_the_same(
    client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)
    await _ask_reset(client, email, path="/password-reset")
    token = _token_in((await _mail_to(mailbox, email))[0])

    response = await client.post(
        "/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert response.json() == {"detail": "Password changed"}


# --- unknown emails ----------------------------------------------------------


async def test_unknown_email_is_404(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post("/password-reset/", json={"email": unique_email()})

    assert response.status_code == 404
    assert response.json()["code"] == "email_not_found"
    assert await _reset_jobs(app) == []


async def test_with_unknown_emails_hidden_the_answer_is_the_same_and_nothing_is_sent(
    app: FastAPI, settings: Settings, mailbox: list[Message]
) -> None:
    hiding = settings.model_copy(update={"password_reset_hide_unknown_email": True})
    async with _serve(hiding) as (hiding_app, client):
        known = await _registered(client)
        stranger = unique_email()

        unknown_answer = await client.post("/password-reset/", json={"email": stranger})
        known_answer = await client.post("/password-reset/", json={"email": known})
        await _mail_to(mailbox, known)

        assert unknown_answer.status_code == known_answer.status_code == 202
        assert unknown_answer.json() == known_answer.json()
        assert len(await _reset_jobs(hiding_app)) == 1
        assert [m["To"] for m in mailbox] == [known]


# --- the job -------------------------------------------------------------


async def test_job_payload_holds_the_token_sealed_never_in_clear(
    app: FastAPI, client: httpx.AsyncClient, mailbox: list[Message]
) -> None:
    email = await _registered(client)
    token = await _emailed_token(client, mailbox, email)

    [job] = await _reset_jobs(app)
    async with app.state.resources.session_factory() as session:
        reset = await session.get(PasswordResetToken, job.payload["reset_id"])

    assert token not in json.dumps(job.payload)
    assert set(job.payload) == {"reset_id", "token"}
    assert app.state.resources.sealer.unseal(job.payload["token"]) == token
    assert reset is not None and reset.token_hash == fingerprint(token)
    assert job.status == JobStatus.DONE


async def test_job_for_a_superseded_token_sends_nothing(
    settings: Settings, mailbox: list[Message]
) -> None:
    idle = settings.model_copy(update={"run_worker": False})
    async with _serve(idle) as (idle_app, client):
        email = await _registered(client)
        await _ask_reset(client, email)
        await _ask_reset(client, email)
        *_others, older, newer = await _reset_jobs(idle_app)
        resources = idle_app.state.resources

        await send_reset_email(resources, older.payload)
        assert [m for m in mailbox if m["To"] == email] == []
        await send_reset_email(resources, newer.payload)
        [message] = await _mail_to(mailbox, email)

    assert resources.sealer.unseal(newer.payload["token"]) == _token_in(message)


async def test_smtp_failure_leaves_the_job_to_be_retried(settings: Settings) -> None:
    no_smtp = settings.model_copy(
        update={"smtp_port": _closed_port(), "run_worker": False}
    )
    async with _serve(no_smtp) as (idle_app, client):
        email = await _registered(client)
        await _ask_reset(client, email)
        *_others, job = await _reset_jobs(idle_app)

        with pytest.raises(aiosmtplib.SMTPException):
            await send_reset_email(idle_app.state.resources, job.payload)


async def test_worker_retries_the_job_when_smtp_is_down(settings: Settings) -> None:
    no_smtp = settings.model_copy(update={"smtp_port": _closed_port()})
    async with _serve(no_smtp) as (failing_app, client):
        email = await _registered(client)
        await _ask_reset(client, email)

        async def probe() -> list[Job]:
            return await _reset_jobs(failing_app)

        jobs = await eventually(probe, lambda found: any(map(_awaits_retry, found)))

    job = next(j for j in jobs if _awaits_retry(j))
    assert job.attempts >= 1
    assert "SMTP" in (job.last_error or "")


def _awaits_retry(job: Job) -> bool:
    return job.status == JobStatus.QUEUED and job.last_error is not None


def test_reset_link_keeps_an_existing_query_and_encodes_the_token() -> None:
    link = reset_link("https://shop.example/reset?lang=fr#top", "a+b/c=")

    assert link == "https://shop.example/reset?lang=fr&token=a%2Bb%2Fc%3D#top"
    assert reset_link("http://127.0.0.1:8000/reset-password", "abc") == (
        "http://127.0.0.1:8000/reset-password?token=abc"
    )


# --- the page ------------------------------------------------------------------
# The emailed link opens the shop client's reset screen; tests/browser/ drives it.


@pytest.mark.parametrize("path", ["/reset-password", "/reset-password/"])
async def test_link_opens_the_client_under_a_strict_policy_and_never_echoes_the_token(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, params={"token": "secret-token-abc"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "secret-token-abc" not in response.text
    assert response.text == (await client.get("/app/")).text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "form-action 'none'" in policy
    assert '<meta name="viewport"' in response.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text)


async def test_page_has_no_inline_script_only_the_clients_own_module(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/reset-password")

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.DOTALL)
    assert scripts == [(' type="module" src="/app/js/main.js"', "")]
    module = await client.get("/app/js/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")


async def test_page_is_left_out_of_the_api_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert "/reset-password" not in paths and "/reset-password/" not in paths
    assert {"/password-reset/", "/password-reset/confirm/"} <= set(paths)
