"""Encoded tiles kept in memory, each with the data version it was computed at (geo.queries.changes).

A county centre's screens show the same county at the same zooms all day; a tile is reused while the
data_changes channels of its layer have not moved, and recomputed once they have. Only layers that
declare their channels (`LayerDef.changes`) are cached. Least recently used tiles go first once the
byte budget is spent. One per process: the event loop is its only user, so it needs no lock.
"""

from collections import OrderedDict
from collections.abc import Hashable

from layers.tiles import MvtTile


class TileCache:
    """Tiles by key with their version; LRU within `max_bytes` (0 disables)."""

    def __init__(self, max_bytes: int):
        """An empty cache holding at most `max_bytes` of tile data."""
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        # key -> (version, tile, owners): owners are the objects whose ids the key holds, kept alive so
        # that no other object can take one of those ids while the entry exists.
        self._tiles: OrderedDict[Hashable, tuple[int, MvtTile, tuple]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        """False when the budget is 0."""
        return self.max_bytes > 0

    def __contains__(self, key: Hashable) -> bool:
        """True when some version of the tile is kept."""
        return key in self._tiles

    def get(self, key: Hashable, version: int) -> MvtTile | None:
        """The tile if it was computed at this version; None (a miss) otherwise."""
        entry = self._tiles.get(key)
        if entry is None or entry[0] != version:
            self.misses += 1
            return None
        self._tiles.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: Hashable, version: int, tile: MvtTile, owners: tuple = ()) -> None:
        """Keep the tile computed at `version` (replacing an older one), then trim to the budget."""
        if not self.enabled or len(tile.data) > self.max_bytes:
            return
        old = self._tiles.pop(key, None)
        if old is not None:
            self.bytes -= len(old[1].data)
        self._tiles[key] = (version, tile, owners)
        self.bytes += len(tile.data)
        while self.bytes > self.max_bytes:
            _key, (_version, dropped, _owners) = self._tiles.popitem(last=False)
            self.bytes -= len(dropped.data)
