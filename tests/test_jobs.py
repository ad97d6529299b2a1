"""The durable job queue: at-least-once, claimed exclusively, retried, parked."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.config import Settings
from app.db import SessionFactory, create_engine, create_session_factory
from app.jobs import Worker, enqueue, purge_done_jobs, retry_delay
from app.models import Job, JobStatus, utcnow


@pytest.fixture
async def sessions(
    settings: Settings, clean_database: None
) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings)
    yield create_session_factory(engine)
    await engine.dispose()


async def _enqueue(
    sessions: SessionFactory, count: int = 1, **kwargs: Any
) -> list[int]:
    async with sessions() as session, session.begin():
        jobs = [enqueue(session, "test.job", {"n": n}, **kwargs) for n in range(count)]
        await session.flush()
        return [job.id for job in jobs]


async def _job(sessions: SessionFactory, job_id: int) -> Job:
    async with sessions() as session:
        return (await session.scalars(select(Job).where(Job.id == job_id))).one()


async def test_a_committed_job_runs_once(sessions: SessionFactory) -> None:
    seen: list[dict[str, Any]] = []

    async def record(payload: dict[str, Any]) -> None:
        seen.append(payload)

    [job_id] = await _enqueue(sessions)
    worker = Worker(sessions, {"test.job": record})

    assert await worker.run_until_idle() == 1
    assert seen == [{"n": 0}]
    job = await _job(sessions, job_id)
    assert job.status == JobStatus.DONE
    assert job.attempts == 1
    assert job.finished_at is not None


async def test_a_rolled_back_job_never_exists(sessions: SessionFactory) -> None:
    async with sessions() as session:
        enqueue(session, "test.job", {})
        await session.flush()
        await session.rollback()

    worker = Worker(sessions, {"test.job": lambda payload: asyncio.sleep(0)})
    assert await worker.run_until_idle() == 0


async def test_a_failing_job_is_retried_later_then_parked_dead(
    sessions: SessionFactory,
) -> None:
    async def fail(payload: dict[str, Any]) -> None:
        raise ConnectionError("smtp down")

    [job_id] = await _enqueue(sessions, max_attempts=2)
    worker = Worker(sessions, {"test.job": fail})

    assert await worker.run_once()
    job = await _job(sessions, job_id)
    assert job.status == JobStatus.QUEUED
    assert job.run_at > utcnow()
    assert job.last_error == "ConnectionError: smtp down"
    assert not await worker.run_once(), "the retry must wait for its backoff"

    await _make_due(sessions, job_id)
    assert await worker.run_once()
    job = await _job(sessions, job_id)
    assert job.status == JobStatus.DEAD
    assert job.attempts == 2


async def test_a_job_of_a_dead_worker_is_taken_again_after_its_lease(
    sessions: SessionFactory,
) -> None:
    calls: list[str] = []

    async def work(payload: dict[str, Any]) -> None:
        calls.append("ran")

    [job_id] = await _enqueue(sessions)
    dying = Worker(sessions, {"test.job": work}, lease_seconds=60)
    survivor = Worker(sessions, {"test.job": work}, lease_seconds=60)

    claimed = await dying._claim()  # the worker dies before running it
    assert claimed is not None
    assert not await survivor.run_once(), (
        "a leased job is not taken while the lease runs"
    )

    await _expire_lease(sessions, job_id)
    assert await survivor.run_once()
    assert calls == ["ran"]

    # The dead worker's late report must not overwrite the survivor's outcome.
    await dying._finish(claimed, status=JobStatus.DEAD, error="late")
    job = await _job(sessions, job_id)
    assert job.status == JobStatus.DONE
    assert job.attempts == 2


async def test_two_workers_never_run_the_same_job(sessions: SessionFactory) -> None:
    runs: Counter[int] = Counter()

    async def work(payload: dict[str, Any]) -> None:
        runs[payload["n"]] += 1
        await asyncio.sleep(0.001)

    await _enqueue(sessions, count=30)
    workers = [Worker(sessions, {"test.job": work}) for _ in range(2)]

    await asyncio.gather(*(w.run_until_idle() for w in workers))

    assert sorted(runs) == list(range(30))
    assert set(runs.values()) == {1}


async def test_an_unknown_job_name_is_an_error_not_a_crash(
    sessions: SessionFactory,
) -> None:
    [job_id] = await _enqueue(sessions, max_attempts=1)
    worker = Worker(sessions, {})

    assert await worker.run_once()
    job = await _job(sessions, job_id)
    assert job.status == JobStatus.DEAD
    assert "no handler" in (job.last_error or "")


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap() -> None:
    for attempts in range(1, 20):
        ceiling = min(600.0, 2.0 * 2 ** (attempts - 1))
        delays = [retry_delay(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len({retry_delay(5) for _ in range(20)}) > 1, "jitter spreads retries"


async def _make_due(sessions: SessionFactory, job_id: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(run_at=utcnow() - timedelta(seconds=1))
        )


async def _expire_lease(sessions: SessionFactory, job_id: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )


async def test_stopping_lets_a_running_job_finish(sessions: SessionFactory) -> None:
    started = asyncio.Event()
    finished: list[int] = []

    async def slow(payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(payload["n"])

    [job_id] = await _enqueue(sessions)
    worker = Worker(sessions, {"test.job": slow}, poll_seconds=0.01)
    worker.start()
    await asyncio.wait_for(started.wait(), 5)

    await worker.stop(grace_seconds=5)

    assert finished == [0]
    assert (await _job(sessions, job_id)).status == JobStatus.DONE


async def test_old_done_jobs_are_purged_and_dead_ones_kept(
    sessions: SessionFactory,
) -> None:
    done_id, dead_id, recent_id = await _enqueue(sessions, count=3)
    long_ago = utcnow() - timedelta(days=8)
    async with sessions() as session, session.begin():
        for job_id, status, finished in (
            (done_id, JobStatus.DONE, long_ago),
            (dead_id, JobStatus.DEAD, long_ago),
            (recent_id, JobStatus.DONE, utcnow()),
        ):
            await session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status=status, finished_at=finished)
            )

    assert await purge_done_jobs(sessions, older_than=timedelta(days=7)) == 1

    async with sessions() as session:
        left = set(await session.scalars(select(Job.id)))
    assert left == {dead_id, recent_id}
