"""A few seconds of catalog answers, kept as the JSON bytes that are sent.

Shoppers read the catalog a hundred times for every change to it, so each
process keeps recent list pages and product details for
`CATALOG_CACHE_SECONDS`:

- an answer expires that long after the database read that built it began,
  so a product changed or hidden in another process shows within that time;
- a commit in this process that changed products drops every answer when
  staff changed them, and only those products' own answers when it merely
  moved their stock (a checkout, the sweeper): a checkout every few seconds
  would otherwise leave nothing cached. Lists show that stock within the
  limit, like any change from another process;
- concurrent misses of one key share a single database read;
- an answer asked for in the last part of its life is read again in the
  background while it is still served, so a busy page never makes shoppers
  wait for the database (it is only ever served while still fresh). That part
  is a quarter of the life, more if reads take long lately: on a saturated
  event loop every step of a read waits its turn (150-350 ms there for a read
  that takes 3 ms alone);
- where the database keeps a catalog stamp (SQLite: `app.catalog.stamp`),
  that part of an answer's life begins with reading the stamp instead: if it
  is the one read before the answer, no product has changed since, and the
  answer lives on from the moment the stamp was read. One small read then
  stands for every search and page there is, instead of reading each again.

Cart and checkout never read from here: they read stock from the database.
"""

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Hashable,
    Iterable,
    Mapping,
)
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

# For this part of the life after a stamp read, the stamp is not read again:
# answers revalidated with it live from when that read began, a little shorter.
_STAMP_REUSE_FRACTION = 0.05
# However often an unchanged stamp keeps an answer, it is read again in full
# this many lives after its last full read: a change that drew no new stamp
# (triggers switched off by hand, a stamp put back as it was) shows then.
_MAX_LIVES_ON_STAMPS = 15

# Reads answers from the database by itself (with a session of its own):
# a background refresh outlives the request that started it.
Loader = Callable[[], Awaitable[Mapping[Hashable, bytes]]]
# Reads the catalog stamp, a value that changes whenever any product does;
# None if the database has none just now.
StampReader = Callable[[], Awaitable[Hashable | None]]


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


class _Load(NamedTuple):
    """How to read a load again, until its answers expire."""

    loader: Loader
    expires_at: float
    # Every key the load answered.
    keys: tuple[Hashable, ...]
    # The catalog stamp read before the answers were, if there is one.
    stamp: Hashable | None
    # When the answers were last read in full.
    read_at: float


class _Loading(NamedTuple):
    """A read under way, and when it was asked for."""

    task: asyncio.Task[_Read]
    started: float


class _Asked(NamedTuple):
    """When a read was asked for: the cache's generation then, and the time."""

    generation: int
    at: float


class _Stamp(NamedTuple):
    value: Hashable | None
    read_at: float


class CatalogCache:
    """Answers by key, each fresh for `ttl_seconds`; 0 turns caching off."""

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        stamp_reader: StampReader | None = None,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: dict[Hashable, _Stored] = {}
        self._bytes = 0
        self._loaders: dict[Hashable, _Load] = {}
        self._stamp_reader = stamp_reader
        self._stamp: _Stamp | None = None
        self._stamp_in_flight: asyncio.Task[_Stamp] | None = None
        # When keys were last forgotten, oldest first: reads that began before
        # must not store them.
        self._forgotten: dict[Hashable, float] = {}
        # Reads under way, by load key: misses of the same load wait for it.
        self._loads: dict[Hashable, _Loading] = {}
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
            _stamp, read = await self._read(load_key, load, None)
            return _answer_of(read, key)

        loading = self._loads.get(load_key)
        if loading is None or self._began_before_forgetting(loading, key):
            loading = self._start_load(load_key, load)
        # Shielded: a shopper who hangs up does not cancel the others' read.
        return _answer_of(await asyncio.shield(loading.task), key)

    def clear(self) -> None:
        """Forget every answer; reads under way will not be kept."""
        self._entries.clear()
        self._bytes = 0
        self._loaders.clear()
        self._loads.clear()
        self._stamp = None
        self._forgotten.clear()
        self._generation += 1

    def forget(self, keys: Iterable[Hashable]) -> None:
        """Drop these answers; reads under way will not keep them either."""
        now = time.monotonic()
        for key in keys:
            stored = self._entries.pop(key, None)
            if stored is not None:
                self._bytes -= len(stored[0])
            self._forgotten.pop(key, None)  # re-inserted: oldest stay first
            self._forgotten[key] = now
        # A read outlasting its answers' life keeps nothing fresh anyway.
        while self._forgotten:
            oldest = next(iter(self._forgotten))
            if self._forgotten[oldest] > now - self.ttl_seconds:
                break
            del self._forgotten[oldest]

    def _began_before_forgetting(self, loading: _Loading, key: Hashable) -> bool:
        """Whether the read under way may not show the change that dropped `key`."""
        forgotten_at = self._forgotten.get(key)
        return forgotten_at is not None and loading.started <= forgotten_at

    def _refresh(self, load_key: Hashable) -> None:
        load = self._loaders.get(load_key)
        if load is None:
            return
        if load.stamp is None:
            refresh = self._read_and_keep(load_key, load.loader, self._asked())
        else:
            refresh = self._revalidate(load_key, load, self._asked())
        self._start(load_key, refresh)

    def _start_load(self, load_key: Hashable, loader: Loader) -> _Loading:
        read = self._read_and_keep(load_key, loader, self._asked())
        return self._start(load_key, read)

    def _start(
        self, load_key: Hashable, read: Coroutine[None, None, _Read]
    ) -> _Loading:
        task = asyncio.create_task(read)
        loading = self._loads[load_key] = _Loading(task, time.monotonic())
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._load_done(load_key, done))
        return loading

    def _asked(self) -> _Asked:
        return _Asked(self._generation, time.monotonic())

    async def _revalidate(
        self, load_key: Hashable, load: _Load, asked: _Asked
    ) -> _Read:
        """Keep a load's answers longer if no product changed; else read them again."""
        stamp = await self._current_stamp()
        if self._still_holds(load_key, load, stamp, asked):
            return self._extend(load_key, load, stamp.read_at)
        return await self._read_and_keep(load_key, load.loader, asked, stamp)

    def _still_holds(
        self, load_key: Hashable, load: _Load, stamp: _Stamp, asked: _Asked
    ) -> bool:
        """Whether a load's answers may live on from when `stamp` was read."""
        if stamp.value is None or stamp.value != load.stamp:
            return False
        if stamp.read_at - load.read_at >= self.ttl_seconds * _MAX_LIVES_ON_STAMPS:
            return False
        if asked.generation != self._generation:  # a commit here changed products
            return False
        # A miss may be waiting for this: every answer of the load must be here
        # (none expired, evicted or forgotten meanwhile).
        now = time.monotonic()
        for key in load.keys:
            stored = self._entries.get(key)
            if stored is None or stored[4] != load_key or stored[2] <= now:
                return False
        return True

    async def _read_and_keep(
        self,
        load_key: Hashable,
        loader: Loader,
        asked: _Asked,
        stamp: _Stamp | None = None,
    ) -> _Read:
        stamp_value, read = await self._read(load_key, loader, stamp)
        # A change committed since the read was asked for may be missing from it:
        # after any change, nothing is kept; after stock moved, not those products.
        if asked.generation == self._generation:
            kept = {
                key: stored
                for key, stored in read.items()
                if self._forgotten.get(key, 0.0) < asked.at
            }
            # (`_keep` sets the load's expiry from its answers'.)
            load = _Load(loader, 0.0, tuple(read), stamp_value, asked.at)
            self._keep(kept, load_key, load)
        return read

    def _load_done(self, load_key: Hashable, task: asyncio.Task[_Read]) -> None:
        self._tasks.discard(task)
        loading = self._loads.get(load_key)
        if loading is not None and loading.task is task:
            del self._loads[load_key]
        if not task.cancelled() and task.exception() is not None:
            # Whoever waited got the error; a refresh nobody waited for is only
            # logged, and its answers expire as usual.
            logger.warning(
                "catalog.cache_read_failed error=%s", type(task.exception()).__name__
            )

    async def _read(
        self, load_key: Hashable, loader: Loader, stamp: _Stamp | None
    ) -> tuple[Hashable | None, _Read]:
        # The clock starts before the read: the answer may show the database
        # as it was then, so that is when its freshness starts running out.
        started = time.monotonic()
        expires_at = started + self._life()
        # The stamp is read before the answers: if it is the same later, no
        # product changed after it, so none after the answers were read.
        if stamp is None and self._stamp_reader is not None and self.enabled:
            stamp = await self._current_stamp()
        bodies = await loader()
        refresh_at = expires_at - self._refresh_lead(time.monotonic() - started)
        read = {
            key: (body, self._etag(key, body), expires_at, refresh_at, load_key)
            for key, body in bodies.items()
        }
        return (None if stamp is None else stamp.value), read

    def _life(self) -> float:
        return self.ttl_seconds * random.uniform(1 - _LIFE_SPREAD, 1)

    async def _current_stamp(self) -> _Stamp:
        """The catalog stamp, read lately or now; concurrent callers share a read."""
        last = self._stamp
        reuse_seconds = self.ttl_seconds * _STAMP_REUSE_FRACTION
        if last is not None and time.monotonic() - last.read_at <= reuse_seconds:
            return last
        if self._stamp_in_flight is None:
            task = asyncio.create_task(self._read_new_stamp())
            task.add_done_callback(self._stamp_read_done)
            self._stamp_in_flight = task
        return await asyncio.shield(self._stamp_in_flight)

    def _stamp_read_done(self, task: asyncio.Task[_Stamp]) -> None:
        # Also when it was cancelled before it began.
        if self._stamp_in_flight is task:
            self._stamp_in_flight = None

    async def _read_new_stamp(self) -> _Stamp:
        assert self._stamp_reader is not None
        read_at = time.monotonic()
        generation = self._generation
        try:
            value = await self._stamp_reader()
        # Without a stamp the answers are read in full, as with no stamp at all.
        except Exception as error:
            logger.warning("catalog.stamp_read_failed error=%s", type(error).__name__)
            value = None
        stamp = _Stamp(value, read_at)
        if generation == self._generation:
            self._stamp = stamp
        return stamp

    def _extend(self, load_key: Hashable, load: _Load, stamp_read_at: float) -> _Read:
        """A load's answers (all still kept), fresh again from a matching stamp."""
        expires_at = max(stamp_read_at + self._life(), load.expires_at)
        refresh_at = expires_at - self._refresh_lead()
        read: _Read = {}
        for key in load.keys:
            body, etag = self._entries[key][:2]
            read[key] = (body, etag, expires_at, refresh_at, load_key)
        self._keep(read, load_key, load)
        return read

    def _etag(self, key: Hashable, body: bytes) -> str:
        # Most reads bring back what was there: comparing bytes costs less
        # than hashing them again.
        stored = self._entries.get(key)
        if stored is not None and stored[0] == body:
            return stored[1]
        return etag_of(body)

    def _refresh_lead(self, read_seconds: float | None = None) -> float:
        """How long before expiry to read an answer again, so it is back in time.

        `read_seconds`, the time the latest read took, moves the smoothed read
        time; a stamp read is not an answer read and leaves it alone.
        """
        if read_seconds is not None:
            change = (read_seconds - self._read_seconds) * _READ_TIME_WEIGHT
            self._read_seconds += change
        lead = max(
            self.ttl_seconds * _REFRESH_AHEAD, _READ_TIMES_AHEAD * self._read_seconds
        )
        return min(lead, self.ttl_seconds * _MAX_REFRESH_AHEAD)

    def _keep(self, read: _Read, load_key: Hashable, load: _Load) -> None:
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
            self._loaders[load_key] = load._replace(expires_at=expires_at)
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
            if self._loaders[oldest_load].expires_at > now:
                break
            del self._loaders[oldest_load]


def _answer_of(read: _Read, key: Hashable) -> CachedAnswer | None:
    stored = read.get(key)
    return None if stored is None else CachedAnswer(*stored[:3])


_caches: WeakKeyDictionary[Engine, CatalogCache] = WeakKeyDictionary()


def register_cache(engine: Engine, cache: CatalogCache) -> CatalogCache:
    """Make `cache` the one that commits to this database clear."""
    _caches[engine] = cache
    return cache


def unregister_cache(engine: Engine) -> None:
    _caches.pop(engine, None)


def product_answer_key(product_id: int) -> Hashable:
    """The key of one product's answer."""
    return ("product", product_id)


# What a session changed in the products table is noted in `Session.info` and
# acted on only at commit: dropping answers before the commit would let a
# concurrent read put the old rows straight back.
_WROTE_PRODUCTS = "catalog_cache.wrote_products"
_MOVED_STOCK = "catalog_cache.moved_stock"
# An UPDATE that changes nothing but one product's stock says which product,
# as `.execution_options(**moves_stock_of(product_id))`.
_STOCK_OF = "catalog_stock_of"


def moves_stock_of(product_id: int) -> dict[str, int]:
    """Execution options for an UPDATE that changes only this product's stock."""
    return {_STOCK_OF: product_id}


def _note_product_row(_mapper: object, _connection: object, product: Product) -> None:
    session = object_session(product)
    if session is not None:
        session.info[_WROTE_PRODUCTS] = True


for _name in ("after_insert", "after_update", "after_delete"):
    event.listen(Product, _name, _note_product_row)


@event.listens_for(Session, "do_orm_execute")
def _note_product_statement(state: ORMExecuteState) -> None:
    writes = state.is_update or state.is_delete or state.is_insert
    if (
        not writes
        or state.bind_mapper is None
        or state.bind_mapper.class_ is not Product
    ):
        return
    stock_of = state.execution_options.get(_STOCK_OF)
    if state.is_update and stock_of is not None:
        state.session.info.setdefault(_MOVED_STOCK, set()).add(stock_of)
    else:
        state.session.info[_WROTE_PRODUCTS] = True


@event.listens_for(Session, "after_commit")
def _drop_answers_after_product_commit(session: Session) -> None:
    wrote = session.info.pop(_WROTE_PRODUCTS, False)
    moved: set[int] = session.info.pop(_MOVED_STOCK, set())
    if not (wrote or moved) or session.bind is None:
        return
    cache = _caches.get(session.bind.engine)
    if cache is None:
        return
    if wrote:
        cache.clear()
    else:
        cache.forget(product_answer_key(product_id) for product_id in moved)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_writes(session: Session) -> None:
    session.info.pop(_WROTE_PRODUCTS, None)
    session.info.pop(_MOVED_STOCK, None)
