"""The catalog stamp on SQLite: cached answers revalidated by one small read.

Triggers (migration 0005) draw a new random stamp in the same transaction as
any change to `products`, by this process or any other, or by hand. A stamp
read before an answer and found again later means no product changed
between: the cache keeps the answer instead of running its query again. On
SQLite that query scans every product name for a search, and a busy shop has
a hundred searches and pages to keep fresh.

Each read also checks that the triggers are still there and takes SQLite's
schema version with the stamp, so a migration that rebuilds `products` (and
with it drops the triggers, or copies rows without firing them) never leaves
a running process trusting an old stamp: it reads in full until the triggers
are back (and logs `catalog.stamp_missing`), and then sees a new stamp.

PostgreSQL has no stamp: one row that every checkout must update would make
checkouts wait on each other's locks, and its reads are cheap enough (a
trigram index for searches) to run again.
"""

import logging
from collections.abc import Hashable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.catalog.cache import StampReader
from app.db import SessionFactory

logger = logging.getLogger("app.catalog")

_TRIGGERS = (
    "products_stamp_after_insert",
    "products_stamp_after_update",
    "products_stamp_after_delete",
)
_TRIGGERS_IN_PLACE = (
    "(SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
    " AND tbl_name = 'products' AND name IN ({names})) = {count}"
).format(names=", ".join(f"'{name}'" for name in _TRIGGERS), count=len(_TRIGGERS))
# No row when the triggers are gone (or someone deleted the stamp's row).
_READ_STAMP = text(
    "SELECT stamp, schema_version FROM catalog_stamp, pragma_schema_version"
    f" WHERE {_TRIGGERS_IN_PLACE}"
)


def stamp_reader(engine: AsyncEngine, sessions: SessionFactory) -> StampReader | None:
    """How to read the stamp, or None where the database does not keep it."""
    if engine.dialect.name != "sqlite":
        return None
    return _SqliteStamp(sessions)


class _SqliteStamp:
    """Reads the stamp; says so in the log when it finds none."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._missing = False

    async def __call__(self) -> Hashable | None:
        try:
            async with self._sessions() as session:
                row = (await session.execute(_READ_STAMP)).first()
        except DBAPIError:  # not migrated yet, say
            row = None
        missing = row is None
        if missing and not self._missing:
            # Answers are then read in full each time: slower, never stale.
            logger.warning(
                "catalog.stamp_missing needs_triggers=%s", ",".join(_TRIGGERS)
            )
        elif self._missing and not missing:
            logger.info("catalog.stamp_found")
        self._missing = missing
        return None if row is None else tuple(row)
