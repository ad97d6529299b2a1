"""Wiring of job names to their handlers, and `python -m app worker`."""

from functools import partial

from app.db import SessionFactory
from app.jobs import Handler, Worker
from app.password_reset import jobs as password_reset_jobs
from app.payments import jobs as payment_jobs
from app.resources import Resources


def job_handlers(resources: Resources) -> dict[str, Handler]:
    return {
        password_reset_jobs.SEND_RESET_EMAIL: partial(
            password_reset_jobs.send_reset_email, resources
        ),
        payment_jobs.CHARGE_PAYMENT: partial(payment_jobs.charge_payment, resources),
    }


def build_worker(resources: Resources) -> Worker:
    settings = resources.settings
    session_factory: SessionFactory = resources.session_factory
    return Worker(
        session_factory,
        job_handlers(resources),
        lease_seconds=settings.job_lease_seconds,
        poll_seconds=settings.job_poll_seconds,
        use_skip_locked=not settings.is_sqlite,
    )
