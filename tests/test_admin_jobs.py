"""Staff see jobs that gave up, and can send them round again."""

import httpx
from fastapi import FastAPI

from app.jobs import enqueue
from app.models import JobStatus
from tests.helpers import eventually, shopper, staff


async def _dead_job(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> int:
    resources = app.state.resources
    async with resources.session_factory() as session, session.begin():
        job = enqueue(
            session, "retired.job", {"order_id": 7, "token": "sealed"}, max_attempts=1
        )
        await session.flush()
        job_id = job.id
    app.state.worker.wake_if_enqueued(session)

    async def status() -> str:
        listing = await client.get("/admin/jobs/", headers=headers)
        return next(j["status"] for j in listing.json()["items"] if j["id"] == job_id)

    await eventually(status, lambda s: s == JobStatus.DEAD)
    return job_id


async def test_staff_list_dead_jobs_with_their_error(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await staff(app, client)
    job_id = await _dead_job(app, client, headers)

    listing = await client.get(
        "/admin/jobs/", params={"status": "dead"}, headers=headers
    )

    assert listing.status_code == 200
    [job] = [j for j in listing.json()["items"] if j["id"] == job_id]
    assert job["attempts"] == 1
    assert "no handler" in job["last_error"]
    assert job["payload"] == {"order_id": 7, "token": "[sealed]"}
    queued = await client.get(
        "/admin/jobs/", params={"status": "queued"}, headers=headers
    )
    assert job_id not in [j["id"] for j in queued.json()["items"]]


async def test_a_dead_job_can_be_retried_once_more(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await staff(app, client)
    job_id = await _dead_job(app, client, headers)

    retried = await client.post(f"/admin/jobs/{job_id}/retry/", headers=headers)

    assert retried.status_code == 200
    assert retried.json()["status"] == "queued"
    assert retried.json()["attempts"] == 0


async def test_only_dead_jobs_are_retried(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await staff(app, client)
    resources = app.state.resources
    async with resources.session_factory() as session, session.begin():
        job = enqueue(session, "later.job", {}, run_at=None)
        job.status = JobStatus.DONE
        await session.flush()
        job_id = job.id

    response = await client.post(f"/admin/jobs/{job_id}/retry/", headers=headers)
    missing = await client.post("/admin/jobs/999999/retry/", headers=headers)

    assert response.status_code == 409
    assert response.json()["code"] == "job_not_dead"
    assert missing.status_code == 404


async def test_shoppers_cannot_see_jobs(client: httpx.AsyncClient) -> None:
    headers = await shopper(client)

    assert (await client.get("/admin/jobs/", headers=headers)).status_code == 403
    assert (await client.get("/admin/jobs/")).status_code == 401


async def test_an_unknown_status_is_a_clear_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = await staff(app, client)

    bad = await client.get(
        "/admin/jobs/", params={"status": "sleeping"}, headers=headers
    )

    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"
