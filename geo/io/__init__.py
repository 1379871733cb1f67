"""Import and export with geopandas: read_file -> validate -> write; read_postgis -> to_file.

    import_grids(session, path, *, level, crs=None, layer=None, encoding=None, make_valid=False)
        -> ImportReport                                                    (grids.py, shapes.py, nul.py)
    import_events(session, path, *, crs="wgs84", sheet=None) -> ImportReport   (events.py, fields.py)
    export_layer(session, layer, path, *, area=None) -> int                (export.py)
    holidays.py: the State Council calendar from chinesecalendar or a notice file; text.py: text rules

Imports run in the caller's transaction and never commit. They validate the whole file before the
first write and raise an InvalidInputError subclass naming the row or feature and the field; the
caller rolls back. Exports write WGS84 (EPSG:4326) and never include parties' personal data.
"""

from geo.io.common import ImportReport
from geo.io.events import import_events
from geo.io.export import EXPORT_FORMATS, EXPORT_LAYERS, export_layer
from geo.io.grids import import_grids

__all__ = ["EXPORT_FORMATS", "EXPORT_LAYERS", "ImportReport", "export_layer", "import_events", "import_grids"]
