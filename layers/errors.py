"""Domain errors of the layer package (all are geo.errors.GeoError, so they carry a user-safe message).

GeoError
├── NotFoundError
│   ├── LayerNotFoundError        unknown layer / collection id (the message lists the known ids)
│   └── FeatureNotFoundError      no feature with that id in the layer (within the requester's area)
└── InvalidInputError
    ├── RendererNotSupportedError the layer cannot be drawn that way (lists the supported renderers)
    ├── InvalidBBoxError          malformed, inverted or out-of-range bbox
    ├── InvalidDatetimeError      malformed datetime instant or interval
    ├── LimitOutOfRangeError      limit / offset outside the allowed range
    ├── UnknownFilterError        a query parameter that is not a filterable property (lists them)
    ├── InvalidFilterValueError   a filter value of the wrong type
    └── InvalidTileError          zoom or tile indices out of range
"""

from geo.errors import InvalidInputError, NotFoundError


class LayerNotFoundError(NotFoundError):
    """No layer (OGC collection) with that id."""

    code = "layer_not_found"


class FeatureNotFoundError(NotFoundError):
    """No feature with that id in the layer, in the requester's area."""

    code = "feature_not_found"


class RendererNotSupportedError(InvalidInputError):
    """The layer does not support the asked renderer."""

    code = "renderer_not_supported"


class InvalidBBoxError(InvalidInputError):
    """A bbox that is malformed, inverted or outside ±180/±90."""

    code = "invalid_bbox"


class InvalidDatetimeError(InvalidInputError):
    """A datetime instant or interval that cannot be read."""

    code = "invalid_datetime"


class LimitOutOfRangeError(InvalidInputError):
    """A limit or offset outside the allowed range."""

    code = "limit_out_of_range"


class UnknownFilterError(InvalidInputError):
    """A query parameter naming no filterable property."""

    code = "unknown_filter"


class InvalidFilterValueError(InvalidInputError):
    """A filter value that does not fit the property's type."""

    code = "invalid_filter_value"


class InvalidTileError(InvalidInputError):
    """Zoom or tile indices out of range."""

    code = "invalid_tile"
