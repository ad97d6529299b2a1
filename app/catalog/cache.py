"""A few seconds of catalog answers, kept as the JSON bytes that are sent.

Shoppers read the catalog a hundred times for every change to it, so each
process keeps recent list pages and product details for
`CATALOG_CACHE_SECONDS`:

- an answer expires that long after the database read that built it began,
  so a product changed or hidden in another process shows within that time;
- a commit in this process that wrote to the products table (a staff edit,
  stock taken by a checkout or returned by the sweeper) drops every answer;
- concurrent misses of one key share a single database read;
- an answer asked for in the last part of its life is read again in the
  background while it is still served, so a busy page never makes shoppers
  wait for the database (it is only ever served while still fresh). That part
  is a quarter of the life, more if reads take long lately: on a saturated
  event loop every step of a read waits its turn (150-350 ms there for a read
  that takes 3 ms alone).

Cart and checkout never read from here: they read stock from the database.
"""

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from app.models import Product

logger = logging.getLogger("app.catalog")

# Enough for every product and a few thousand pages; expired answers are
# dropped first, so in practice the cache holds what was asked for lately.
MAX_ENTRIES = 20_000
# And a bound in bytes: a hundred 100-item pages of long descriptions weigh
# more than ten thousand products.
MAX_BYTES = 64 * 1024 * 1024
# Lives are spread over the last fifth of the limit, so that answers read
# together (every block of products, at start) are not all read again at once.
_LIFE_SPREAD = 0.2
_REFRESH_AHEAD = 0.25
_MAX_REFRESH_AHEAD = 0.4
# A refresh starts at least this many smoothed read times before expiry.
_READ_TIMES_AHEAD = 1.5
# How much the latest read moves the smoothed read time.
_READ_TIME_WEIGHT = 0.2

# Reads answers from the database by itself (with a session of its own):
# a background refresh outlives the request that started it.
Loader = Callable[[], Awaitable[Mapping[Hashable, bytes]]]


class CachedAnswer(NamedTuple):
    body: bytes
    etag: str
    expires_at: float

    def max_age(self) -> int:
        """Whole seconds this answer stays fresh; a client may keep it that long."""
        return max(0, int(self.expires_at - time.monotonic()))


def etag_of(body: bytes) -> str:
    # A strong validator: any change to the bytes changes it.
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


# An answer is stored as a plain tuple of immutable values:
# (body, etag, expires_at, refresh_at, load_key). The garbage collector stops
# tracking such tuples; ten thousand objects replaced every two seconds would
# otherwise hasten full collections, each a 100+ ms pause with this app's heap.
_Stored = tuple[bytes, str, float, float, Hashable]
_Read = dict[Hashable, _Stored]


class CatalogCache:
    """Answers by key, each fresh for `ttl_seconds`; 0 turns caching off."""

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: dict[Hashable, _Stored] = {}
        self._bytes = 0
        # How to read each load again, until its answers expire.
        self._loaders: dict[Hashable, tuple[Loader, float]] = {}
        # Reads under way, by load key: misses of the same load wait for it.
        self._loads: dict[Hashable, asyncio.Task[_Read]] = {}
        # The loop keeps only weak references to tasks.
        self._tasks: set[asyncio.Task[_Read]] = set()
        self._generation = 0
        self._read_seconds = 0.0

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    def __len__(self) -> int:
        return len(self._entries)

    def fresh(self, key: Hashable) -> CachedAnswer | None:
        """The stored answer for `key`, unless it has expired."""
        stored = self._entries.get(key)
        if stored is None:
            return None
        body, etag, expires_at, refresh_at, load_key = stored
        now = time.monotonic()
        if expires_at <= now:
            return None
        if now >= refresh_at and load_key not in self._loads:
            self._refresh(load_key)
        return CachedAnswer(body, etag, expires_at)

    async def answer(
        self, key: Hashable, load: Loader, *, load_key: Hashable | None = None
    ) -> CachedAnswer | None:
        """The answer for `key`: cached, or read by `load` (None if it has none).

        `load` may return answers for other keys as well (a block of products);
        `load_key` names that load, so concurrent misses within it share it.
        """
        cached = self.fresh(key)
        if cached is not None:
            return cached
        load_key = key if load_key is None else load_key
        if not self.enabled:
            return _answer_of(await self._read(load_key, load), key)

        loading = self._loads.get(load_key) or self._start_load(load_key, load)
        # Shielded: a shopper who hangs up does not cancel the others' read.
        return _answer_of(await asyncio.shield(loading), key)

    def clear(self) -> None:
        """Forget every answer; reads under way will not be kept."""
        self._entries.clear()
        self._bytes = 0
        self._loaders.clear()
        self._loads.clear()
        self._generation += 1

    def _refresh(self, load_key: Hashable) -> None:
        loader = self._loaders.get(load_key)
        if loader is not None:
            self._start_load(load_key, loader[0])

    def _start_load(self, load_key: Hashable, load: Loader) -> asyncio.Task[_Read]:
        read = self._read_and_keep(load_key, load, self._generation)
        task = asyncio.create_task(read)
        self._loads[load_key] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._load_done(load_key, done))
        return task

    async def _read_and_keep(
        self, load_key: Hashable, load: Loader, generation: int
    ) -> _Read:
        read = await self._read(load_key, load)
        # A change committed since the read was asked for may be missing from it.
        if generation == self._generation:
            self._keep(read, load_key, load)
        return read

    def _load_done(self, load_key: Hashable, task: asyncio.Task[_Read]) -> None:
        self._tasks.discard(task)
        if self._loads.get(load_key) is task:
            del self._loads[load_key]
        if not task.cancelled() and task.exception() is not None:
            # Whoever waited got the error; a refresh nobody waited for is only
            # logged, and its answers expire as usual.
            logger.warning(
                "catalog.cache_read_failed error=%s", type(task.exception()).__name__
            )

    async def _read(self, load_key: Hashable, load: Loader) -> _Read:
        # The clock starts before the read: the answer may show the database
        # as it was then, so that is when its freshness starts running out.
        started = time.monotonic()
        expires_at = started + self.ttl_seconds * random.uniform(1 - _LIFE_SPREAD, 1)
        bodies = await load()
        refresh_at = expires_at - self._refresh_lead(time.monotonic() - started)
        return {
            key: (body, self._etag(key, body), expires_at, refresh_at, load_key)
            for key, body in bodies.items()
        }

    def _etag(self, key: Hashable, body: bytes) -> str:
        # Most reads bring back what was there: comparing bytes costs less
        # than hashing them again.
        stored = self._entries.get(key)
        if stored is not None and stored[0] == body:
            return stored[1]
        return etag_of(body)

    def _refresh_lead(self, read_seconds: float) -> float:
        """How long before expiry to read an answer again, so it is back in time."""
        self._read_seconds += (read_seconds - self._read_seconds) * _READ_TIME_WEIGHT
        lead = max(
            self.ttl_seconds * _REFRESH_AHEAD, _READ_TIMES_AHEAD * self._read_seconds
        )
        return min(lead, self.ttl_seconds * _MAX_REFRESH_AHEAD)

    def _keep(self, read: _Read, load_key: Hashable, load: Loader) -> None:
        # Re-inserted at the end, so both dicts stay in the order of expiry.
        for key, stored in read.items():
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self._bytes -= len(replaced[0])
            self._entries[key] = stored
            self._bytes += len(stored[0])
        if read:
            expires_at = next(iter(read.values()))[2]
            self._loaders.pop(load_key, None)
            self._loaders[load_key] = (load, expires_at)
        self._evict()

    def _evict(self) -> None:
        now = time.monotonic()
        while self._entries:
            oldest_key = next(iter(self._entries))
            oldest = self._entries[oldest_key]
            expired = oldest[2] <= now
            too_many = len(self._entries) > self._max_entries
            if not (expired or too_many or self._bytes > self._max_bytes):
                break
            del self._entries[oldest_key]
            self._bytes -= len(oldest[0])
        while self._loaders:
            oldest_load = next(iter(self._loaders))
            if self._loaders[oldest_load][1] > now:
                break
            del self._loaders[oldest_load]


def _answer_of(read: _Read, key: Hashable) -> CachedAnswer | None:
    stored = read.get(key)
    return None if stored is None else CachedAnswer(*stored[:3])


_caches: WeakKeyDictionary[Engine, CatalogCache] = WeakKeyDictionary()


def cache_for(engine: Engine, ttl_seconds: float) -> CatalogCache:
    """The cache of this process for that database, made on first use."""
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = CatalogCache(ttl_seconds)
    return cache


# Which sessions wrote to the products table is noted in `Session.info` and
# acted on only at commit: dropping answers before the commit would let a
# concurrent read put the old rows straight back.
_WROTE_PRODUCTS = "catalog_cache.wrote_products"


def _note_product_row(_mapper: object, _connection: object, product: Product) -> None:
    session = object_session(product)
    if session is not None:
        session.info[_WROTE_PRODUCTS] = True


for _name in ("after_insert", "after_update", "after_delete"):
    event.listen(Product, _name, _note_product_row)


@event.listens_for(Session, "do_orm_execute")
def _note_product_statement(state: ORMExecuteState) -> None:
    writes = state.is_update or state.is_delete or state.is_insert
    if writes and state.bind_mapper is not None and state.bind_mapper.class_ is Product:
        state.session.info[_WROTE_PRODUCTS] = True


@event.listens_for(Session, "after_commit")
def _drop_answers_after_product_commit(session: Session) -> None:
    if not session.info.pop(_WROTE_PRODUCTS, False) or session.bind is None:
        return
    cache = _caches.get(session.bind.engine)
    if cache is not None:
        cache.clear()


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_writes(session: Session) -> None:
    session.info.pop(_WROTE_PRODUCTS, None)
