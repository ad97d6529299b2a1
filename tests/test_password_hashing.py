"""Password hashing: a few lower-priority threads of its own, never the event loop."""

import asyncio
import gc
import os
import threading

from app.config import Settings
from app.security import PasswordHasher, default_hash_concurrency


def _hashing_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("password-hash")}


def test_by_default_hashing_leaves_a_cpu_to_the_event_loop(settings: Settings) -> None:
    cpus = len(os.sched_getaffinity(0))

    assert default_hash_concurrency() == max(1, cpus - 1)
    assert PasswordHasher(settings).concurrency == default_hash_concurrency()


async def test_hashes_run_on_at_most_the_configured_threads(settings: Settings) -> None:
    hasher = PasswordHasher(
        settings.model_copy(update={"password_hash_concurrency": 2})
    )
    gc.collect()
    before = _hashing_threads()

    hashes = await asyncio.gather(*(hasher.hash(f"password {n}") for n in range(6)))

    new_threads = _hashing_threads() - before
    assert 1 <= len(new_threads) <= 2
    checks = await asyncio.gather(
        *(hasher.verify(f"password {n}", stored) for n, stored in enumerate(hashes))
    )
    assert checks == [(True, None)] * 6


async def test_hashing_threads_run_at_a_lower_priority(settings: Settings) -> None:
    hasher = PasswordHasher(
        settings.model_copy(update={"password_hash_concurrency": 1})
    )
    before = _hashing_threads()

    await hasher.hash("a password")

    # Linux, where the service runs, sets priorities per thread.
    (thread,) = _hashing_threads() - before
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == min(own + 10, 19)


async def test_a_wrong_password_and_an_unknown_account_are_both_refused(
    settings: Settings,
) -> None:
    hasher = PasswordHasher(settings)
    stored = await hasher.hash("the right one")

    assert await hasher.verify("the wrong one", stored) == (False, None)
    assert await hasher.verify("anything", None) == (False, None)


async def test_a_cancelled_login_does_not_block_the_ones_after_it(
    settings: Settings,
) -> None:
    hasher = PasswordHasher(
        settings.model_copy(update={"password_hash_concurrency": 1})
    )
    stored = await hasher.hash("secret words")
    queued = [
        asyncio.create_task(hasher.verify("secret words", stored)) for _ in range(4)
    ]
    await asyncio.sleep(0)
    for task in queued[1:]:
        task.cancel()

    after = await asyncio.wait_for(hasher.verify("secret words", stored), timeout=10)

    assert after == (True, None)
    assert await queued[0] == (True, None)
    assert all(task.cancelled() for task in queued[1:])
