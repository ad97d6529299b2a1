"""Wiring of job names to their handlers, and `python -m app worker`."""

from datetime import timedelta
from functools import partial

from app.checkout.abandoned import cancel_abandoned_orders
from app.db import SessionFactory
from app.idempotency import purge_expired
from app.jobs import Handler, PeriodicTask, Worker, purge_done_jobs
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


def periodic_tasks(resources: Resources) -> list[PeriodicTask]:
    settings = resources.settings
    sessions = resources.session_factory
    unpaid_for = timedelta(seconds=settings.order_payment_timeout_seconds)
    return [
        PeriodicTask(
            "cancel_abandoned_orders",
            settings.order_sweep_interval_seconds,
            partial(cancel_abandoned_orders, sessions, unpaid_for=unpaid_for),
        ),
        PeriodicTask(
            "purge_idempotency_records", 3600.0, partial(purge_expired, sessions)
        ),
        PeriodicTask(
            "purge_done_jobs",
            3600.0,
            partial(purge_done_jobs, sessions, older_than=timedelta(days=7)),
        ),
    ]


def build_worker(resources: Resources) -> Worker:
    settings = resources.settings
    session_factory: SessionFactory = resources.session_factory
    return Worker(
        session_factory,
        job_handlers(resources),
        lease_seconds=settings.job_lease_seconds,
        poll_seconds=settings.job_poll_seconds,
        use_skip_locked=not settings.is_sqlite,
        periodic=periodic_tasks(resources),
    )
