"""Staff-only operations endpoints."""

from typing import Annotated

from fastapi import Query

from app.admin import service
from app.admin.schemas import JobOut, JobPage
from app.auth.deps import StaffUser
from app.db import SessionDep
from app.errors import Forbidden, NotAuthenticated, NotFound, error_responses
from app.inputs import Offset, PathId
from app.models import JobStatus
from app.routing import ShopRouter

router = ShopRouter(tags=["admin"])


@router.get(
    "/admin/jobs/",
    response_model=JobPage,
    responses=error_responses(NotAuthenticated, Forbidden),
)
async def list_jobs(
    session: SessionDep,
    staff: StaffUser,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> JobPage:
    """Background jobs, newest first; `status=dead` shows the ones that gave up."""
    jobs, total = await service.list_jobs(session, status, limit, offset)
    items = [JobOut.model_validate(job) for job in jobs]
    return JobPage(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/admin/jobs/{job_id}/retry/",
    response_model=JobOut,
    responses=error_responses(
        NotAuthenticated, Forbidden, NotFound, service.JobNotDead
    ),
)
async def retry_job(job_id: PathId, session: SessionDep, staff: StaffUser) -> JobOut:
    """Put a dead job back in the queue for a fresh set of attempts."""
    job = await service.retry_dead_job(session, job_id, staff.id)
    return JobOut.model_validate(job)
