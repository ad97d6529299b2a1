"""Staff views of the job queue: list jobs by status, put a dead job back."""

import logging
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError, ErrorCode, NotFound
from app.jobs import wake_after_commit
from app.models import Job, JobStatus, utcnow

logger = logging.getLogger("app.admin")


class JobNotDead(DomainError):
    status_code = 409
    code = ErrorCode.JOB_NOT_DEAD
    message = "Only a dead job can be retried"


async def list_jobs(
    session: AsyncSession, status: JobStatus | None, limit: int, offset: int
) -> tuple[Sequence[Job], int]:
    query = select(Job)
    if status is not None:
        query = query.where(Job.status == status)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    jobs = await session.scalars(
        query.order_by(Job.id.desc()).limit(limit).offset(offset)
    )
    return jobs.all(), total or 0


async def retry_dead_job(session: AsyncSession, job_id: int, staff_id: int) -> Job:
    job = await session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound("No such job")
    if job.status != JobStatus.DEAD:
        raise JobNotDead()
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.run_at = utcnow()
    job.finished_at = None
    await session.flush()
    wake_after_commit(session)
    logger.info(
        "job.requeued job_id=%s name=%s staff_id=%s", job.id, job.name, staff_id
    )
    return job
