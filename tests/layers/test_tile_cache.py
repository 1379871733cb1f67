"""layers.tile_cache.TileCache on its own: versions, least-recently-used trimming, the byte budget."""

from layers.tile_cache import TileCache
from layers.tiles import MvtTile


def _tile(size: int) -> MvtTile:
    return MvtTile(b"x" * size, 1, False, False)


def test_a_tile_is_served_only_at_its_version():
    cache = TileCache(1000)
    cache.put("a", 7, _tile(10))
    assert cache.get("a", 7) == _tile(10)
    assert cache.get("a", 8) is None and cache.get("b", 7) is None
    assert (cache.hits, cache.misses) == (1, 2)
    cache.put("a", 8, _tile(20))
    assert cache.get("a", 7) is None and cache.get("a", 8) == _tile(20)
    assert cache.bytes == 20


def test_the_least_recently_used_go_first_within_the_budget():
    cache = TileCache(100)
    for key in "abc":
        cache.put(key, 1, _tile(40))
    assert "a" not in cache and cache.bytes == 80  # a went to make room for c
    cache.get("b", 1)  # b is now more recent than c
    cache.put("d", 1, _tile(40))
    assert "b" in cache and "c" not in cache and "d" in cache
    cache.put("huge", 1, _tile(101))  # bigger than the budget: not kept, nothing dropped for it
    assert "huge" not in cache and cache.bytes == 80


def test_a_zero_budget_keeps_nothing():
    cache = TileCache(0)
    cache.put("a", 1, _tile(1))
    assert not cache.enabled and "a" not in cache
