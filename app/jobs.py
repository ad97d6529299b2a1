"""Durable background jobs kept in the database.

A job is written with `enqueue()` in the same transaction as the change that
needs it, so a crash can never keep one without the other. Workers claim a job
with a lease; a job whose worker died is claimed again once the lease expires.
A failing job is retried with exponential backoff and jitter, then parked as
`dead`. Handlers receive ids, open their own sessions and must be idempotent:
a job may run more than once when a worker dies after its work but before it
records success.
"""

import asyncio
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import SessionFactory
from app.models import Job, JobStatus, utcnow
from app.observability import request_id_var

logger = logging.getLogger("app.jobs")

_ENQUEUED_FLAG = "jobs_enqueued"
_BACKOFF_BASE_SECONDS = 2.0
_BACKOFF_CAP_SECONDS = 600.0
_LOOP_BACKOFF_CAP_SECONDS = 30.0


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    name: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    request_id: str | None


Handler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class PeriodicTask:
    """Work every worker repeats on a timer; it must be safe to run concurrently."""

    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]


def enqueue(
    session: AsyncSession,
    name: str,
    payload: dict[str, Any],
    *,
    max_attempts: int = 8,
    run_at: datetime | None = None,
) -> Job:
    """Add a job to the caller's transaction; it runs only if that commits."""
    job = Job(
        name=name,
        payload=payload,
        status=JobStatus.QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_at=run_at or utcnow(),
        request_id=request_id_var.get(),
    )
    session.add(job)
    wake_after_commit(session)
    return job


def wake_after_commit(session: AsyncSession) -> None:
    """Have the in-process worker look for jobs as soon as this session commits."""
    session.info[_ENQUEUED_FLAG] = True


async def purge_done_jobs(sessions: SessionFactory, *, older_than: timedelta) -> int:
    """Delete jobs that finished well in the past; dead ones stay for staff."""
    async with sessions() as session, session.begin():
        result = await session.execute(
            delete(Job).where(
                Job.status == JobStatus.DONE, Job.finished_at < utcnow() - older_than
            )
        )
    if result.rowcount:
        logger.info("jobs.purged jobs=%s", result.rowcount)
    return result.rowcount


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait for the event or the timeout; True if the event was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: exponential, capped, with jitter."""
    ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


class Worker:
    """Claims due jobs and runs their handlers, a few at a time."""

    def __init__(
        self,
        session_factory: SessionFactory,
        handlers: Mapping[str, Handler],
        *,
        lease_seconds: int = 60,
        poll_seconds: float = 1.0,
        concurrency: int = 4,
        use_skip_locked: bool = False,
        periodic: Sequence[PeriodicTask] = (),
    ) -> None:
        self._sessions = session_factory
        self._handlers = dict(handlers)
        self._lease = timedelta(seconds=lease_seconds)
        self._poll_seconds = poll_seconds
        self._concurrency = concurrency
        self._skip_locked = use_skip_locked
        self._periodic = tuple(periodic)
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    def wake_if_enqueued(self, session: AsyncSession) -> None:
        """Called after a commit: start at once on jobs that commit added."""
        if session.info.pop(_ENQUEUED_FLAG, False):
            self._wakeup.set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"job-worker-{n}")
            for n in range(self._concurrency)
        ]
        self._tasks += [
            asyncio.create_task(self._repeat(task), name=f"periodic-{task.name}")
            for task in self._periodic
        ]
        logger.info("worker.started worker=%s", self.worker_id)

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Let running jobs finish (up to the grace period), then stop."""
        self._stopping.set()
        self._wakeup.set()
        if self._tasks:
            _done, late = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._tasks = []
        logger.info("worker.stopped worker=%s", self.worker_id)

    async def run_once(self) -> bool:
        """Claim and run one due job; False when none was due."""
        job = await self._claim()
        if job is None:
            return False
        await self._run(job)
        return True

    async def run_until_idle(self) -> int:
        ran = 0
        while await self.run_once():
            ran += 1
        return ran

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                if await self.run_once():
                    failures = 0
                    continue
                failures = 0
            except Exception as exc:
                # The database is likely down: back off, and log the first failure
                # in full but only one line for each later one.
                failures += 1
                logger.error(
                    "worker.loop_failed worker=%s failures=%s error=%s",
                    self.worker_id,
                    failures,
                    type(exc).__name__,
                    exc_info=failures == 1,
                )
            self._wakeup.clear()
            delay = min(_LOOP_BACKOFF_CAP_SECONDS, self._poll_seconds * 2**failures)
            await _wait(self._stopping if failures else self._wakeup, delay)

    async def _repeat(self, task: PeriodicTask) -> None:
        # Jitter keeps several workers from sweeping in lockstep.
        while not await _wait(
            self._stopping, task.interval_seconds * random.uniform(0.5, 1.0)
        ):
            try:
                await task.run()
            except Exception:
                logger.exception("periodic.failed task=%s", task.name)

    async def _claim(self) -> ClaimedJob | None:
        now = utcnow()
        due = or_(
            and_(Job.status == JobStatus.QUEUED, Job.run_at <= now),
            and_(Job.status == JobStatus.RUNNING, Job.locked_until < now),
        )
        async with self._sessions() as session, session.begin():
            query = select(Job).where(due).order_by(Job.run_at, Job.id).limit(1)
            if self._skip_locked:
                query = query.with_for_update(skip_locked=True)
            job = (await session.scalars(query)).first()
            if job is None:
                return None
            # The guarded update is what makes the claim exclusive on SQLite.
            claimed = await session.execute(
                update(Job)
                .where(Job.id == job.id, Job.attempts == job.attempts, due)
                .values(
                    status=JobStatus.RUNNING,
                    attempts=Job.attempts + 1,
                    locked_until=now + self._lease,
                    locked_by=self.worker_id,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return None
            return ClaimedJob(
                id=job.id,
                name=job.name,
                payload=dict(job.payload),
                attempts=job.attempts + 1,
                max_attempts=job.max_attempts,
                request_id=job.request_id,
            )

    async def _run(self, job: ClaimedJob) -> None:
        token = request_id_var.set(job.request_id or f"job-{job.id}")
        try:
            handler = self._handlers.get(job.name)
            if handler is None:
                raise LookupError(f"no handler for job {job.name!r}")
            await handler(job.payload)
        except Exception as exc:
            await self._record_failure(job, exc)
        else:
            await self._finish(job, status=JobStatus.DONE, error=None)
            logger.info(
                "job.done job_id=%s name=%s attempt=%s", job.id, job.name, job.attempts
            )
        finally:
            request_id_var.reset(token)

    async def _record_failure(self, job: ClaimedJob, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if job.attempts >= job.max_attempts:
            await self._finish(job, status=JobStatus.DEAD, error=error)
            logger.error(
                "job.dead job_id=%s name=%s attempts=%s error=%s",
                job.id,
                job.name,
                job.attempts,
                type(exc).__name__,
            )
            return
        delay = retry_delay(job.attempts)
        await self._update_own(
            job,
            status=JobStatus.QUEUED,
            run_at=utcnow() + timedelta(seconds=delay),
            locked_until=None,
            locked_by=None,
            last_error=error,
        )
        logger.warning(
            "job.retry job_id=%s name=%s attempt=%s delay_s=%.1f error=%s",
            job.id,
            job.name,
            job.attempts,
            delay,
            type(exc).__name__,
        )

    async def _finish(
        self, job: ClaimedJob, *, status: JobStatus, error: str | None
    ) -> None:
        await self._update_own(
            job,
            status=status,
            finished_at=utcnow(),
            locked_until=None,
            last_error=error,
        )

    async def _update_own(self, job: ClaimedJob, **values: Any) -> None:
        # Only the holder of the current claim may record its outcome.
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Job)
                .where(
                    Job.id == job.id,
                    Job.locked_by == self.worker_id,
                    Job.attempts == job.attempts,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
