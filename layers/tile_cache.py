"""Encoded tiles and pages of features kept in memory, each with the data version it was computed at
(geo.queries.changes).

A county centre's screens show the same county at the same zooms all day, and GIS clients ask for the
same pages of features again as planners pan back and forth; a tile or page is reused while the
data_changes channels of its layer have not moved, and recomputed once they have. Only layers that
declare their channels (`LayerDef.changes`) are cached. Least recently used entries go first once the
byte budget is spent. One of each per process; pages are built in the thread pool, so a lock guards
the entries.

`cached` is the one way a route uses a cache: the version is read first, in the transaction that then
computes the value, so a kept value is never older than its version says.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from geo.queries.changes import version_statement
from layers.geojson import FeaturePage
from layers.tiles import MvtTile

V = TypeVar("V")


class VersionedCache(Generic[V]):
    """Values by key with their version; LRU within `max_bytes` (0 disables)."""

    def __init__(self, max_bytes: int):
        """An empty cache holding at most `max_bytes` of data."""
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        # key -> (version, value, owners): owners are the objects whose ids the key holds, kept alive so
        # that no other object can take one of those ids while the entry exists.
        self._entries: OrderedDict[Hashable, tuple[int, V, tuple]] = OrderedDict()

    @staticmethod
    def size(value: V) -> int:
        """Bytes a value counts against the budget."""
        raise NotImplementedError

    @property
    def enabled(self) -> bool:
        """False when the budget is 0."""
        return self.max_bytes > 0

    def __contains__(self, key: Hashable) -> bool:
        """True when some version of the value is kept."""
        return key in self._entries

    def get(self, key: Hashable, version: int) -> V | None:
        """The value if it was computed at this version; None (a miss) otherwise."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: Hashable, version: int, value: V, owners: tuple = ()) -> None:
        """Keep the value computed at `version` (replacing an older one), then trim to the budget."""
        size = self.size(value)
        if not self.enabled or size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= self.size(old[1])
            self._entries[key] = (version, value, owners)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _key, (_version, dropped, _owners) = self._entries.popitem(last=False)
                self.bytes -= self.size(dropped)


class TileCache(VersionedCache[MvtTile]):
    """Encoded vector tiles."""

    @staticmethod
    def size(value: MvtTile) -> int:
        """The tile's bytes."""
        return len(value.data)


class PageCache(VersionedCache[FeaturePage]):
    """Pages of features (OGC API items) as PostGIS wrote them."""

    @staticmethod
    def size(value: FeaturePage) -> int:
        """The page's GeoJSON bytes."""
        return len(value.body)


def cached(
    session: Session,
    cache: VersionedCache[V],
    channels: tuple[str, ...],
    key: Hashable,
    owners: tuple,
    compute: Callable[[], V],
) -> V:
    """The value kept under `key` while the data_changes `channels` stand still, else `compute()`d and kept.

    Args:
        owners: objects whose ids the key holds (the layer, the settings), kept alive with the entry.
    """
    version = session.execute(version_statement(channels)).scalar_one()
    value = cache.get(key, version)
    if value is None:
        value = compute()
        cache.put(key, version, value, owners)
    return value
