"""Writing an imported boundary file: old versions retired, new current versions inserted in bulk, and
children and workers re-pointed to the new rows, in the caller's transaction."""

import numpy as np
import shapely
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, LargeBinary, Text

from geo import clock
from geo.io.common import ImportReport
from geo.io.grid_rows import parent_code

# --- writing ---------------------------------------------------------------------------------------------

# Retire the current version of every re-imported code; history keeps it, and events keep pointing at it.
_RETIRE = text("""
UPDATE grids SET valid_to = :ts WHERE valid_to IS NULL AND code = ANY(:codes) RETURNING id, code, worker_id
""").bindparams(bindparam("codes", type_=ARRAY(Text)))

# One INSERT for the whole file: unnest of parallel arrays instead of one round trip per feature.
_INSERT = text("""
INSERT INTO grids (code, name, level, parent_id, geom, worker_id, valid_from)
SELECT t.code, t.name, :level, t.parent_id, ST_Multi(ST_GeomFromWKB(t.wkb, 4326)), t.worker_id, :ts
FROM unnest(:codes, :names, :parents, :wkbs, :workers) AS t(code, name, parent_id, wkb, worker_id)
RETURNING id, code
""").bindparams(
    bindparam("codes", type_=ARRAY(Text)),
    bindparam("names", type_=ARRAY(Text)),
    bindparam("parents", type_=ARRAY(BigInteger)),
    bindparam("wkbs", type_=ARRAY(LargeBinary)),
    bindparam("workers", type_=ARRAY(BigInteger)),
)

# Current children of a retired row, and the workers living in it, move to the new version.
_REPOINT_CHILDREN = text("""
UPDATE grids c SET parent_id = m.new_id FROM unnest(:old, :new) AS m(old_id, new_id)
WHERE c.parent_id = m.old_id AND c.valid_to IS NULL
""").bindparams(bindparam("old", type_=ARRAY(BigInteger)), bindparam("new", type_=ARRAY(BigInteger)))
_REPOINT_WORKERS = text("""
UPDATE workers w SET home_grid_id = m.new_id FROM unnest(:old, :new) AS m(old_id, new_id)
WHERE w.home_grid_id = m.old_id
""").bindparams(bindparam("old", type_=ARRAY(BigInteger)), bindparam("new", type_=ARRAY(BigInteger)))


def write_grids(
    session: Session, rows: list[dict], geoms: np.ndarray, parents: dict, level: str, report: ImportReport
) -> list[int]:
    """Retire old versions, insert the new ones, re-point children; return the new ids."""
    ts = clock.now()
    codes = [r["code"] for r in rows]
    retired = {r.code: r for r in session.execute(_RETIRE, {"ts": ts, "codes": codes})}
    inserted = session.execute(_INSERT, _insert_params(rows, geoms, parents, level, retired, ts)).all()
    new_id = {r.code: r.id for r in inserted}
    old = [retired[c].id for c in retired]
    new = [new_id[c] for c in retired]
    if old:
        session.execute(_REPOINT_CHILDREN, {"old": old, "new": new})
        session.execute(_REPOINT_WORKERS, {"old": old, "new": new})
    report.inserted, report.retired = len(inserted), len(retired)
    return [r.id for r in inserted]


def _insert_params(rows: list[dict], geoms: np.ndarray, parents: dict, level: str, retired: dict, ts) -> dict:
    """The parallel arrays of _INSERT; a re-imported code keeps the worker of its retired version."""
    codes = [r["code"] for r in rows]
    return {
        "ts": ts,
        "level": level,
        "codes": codes,
        "names": [r["name"] for r in rows],
        "parents": [parents.get(parent_code(c, level), {}).get("id") for c in codes],
        "wkbs": [shapely.to_wkb(g) for g in geoms],
        "workers": [retired[c].worker_id if c in retired else None for c in codes],
    }
