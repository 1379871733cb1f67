"""LayerRegistry: register / get / ids. Built-in layers go through the same call as any later layer."""

from collections.abc import Iterator

from layers.errors import LayerNotFoundError
from layers.model import LayerDef


class LayerRegistry:
    """The layers an app serves, by id."""

    def __init__(self, *defs: LayerDef) -> None:
        """Start with `defs` (may be empty)."""
        self._layers: dict[str, LayerDef] = {}
        self.register(*defs)

    def register(self, *defs: LayerDef, replace: bool = False) -> None:
        """Add layers; an id already present raises ValueError unless `replace`."""
        ids = [d.id for d in defs]
        dupes = sorted(
            {i for i in ids if ids.count(i) > 1} | (set() if replace else set(ids) & set(self._layers))
        )
        if dupes:
            raise ValueError(f"layer ids already registered: {', '.join(dupes)}")
        for layer in defs:
            self._layers[layer.id] = layer

    def get(self, layer_id: str) -> LayerDef:
        """The layer with this id; LayerNotFoundError lists the known ids."""
        try:
            return self._layers[layer_id]
        except KeyError:
            raise LayerNotFoundError(
                f"unknown layer {layer_id!r}; known layers: {', '.join(self.ids())}", where="layer"
            ) from None

    def ids(self) -> list[str]:
        """Layer ids, sorted."""
        return sorted(self._layers)

    def __iter__(self) -> Iterator[LayerDef]:
        """Layers in id order."""
        return (self._layers[i] for i in self.ids())

    def __contains__(self, layer_id: object) -> bool:
        """True if a layer has this id."""
        return layer_id in self._layers

    def __len__(self) -> int:
        """How many layers."""
        return len(self._layers)
