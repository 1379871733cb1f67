"""How many features an MVT holds: a minimal protobuf walk (Tile.layers = 3, Layer.features = 2), so
the bench needs no decoder to see tipg's tiles cut at its cap."""

from collections.abc import Iterator


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of a protobuf message; length-delimited values as bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            value, i = buf[i : i + n], i + n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, value


def mvt_features(data: bytes) -> int:
    """How many features an MVT holds (all layers)."""
    return sum(1 for n, layer in _fields(data) if n == 3 for m, _ in _fields(layer) if m == 2)  # type: ignore[arg-type]
