"""A tiny hand-drawn county for the dispatch tests, with known answers.

County 620121 is lon 103.00-103.04, lat 36.00-36.02 (WGS84). Township 001 (west half) has village 001
(two small grids, south ...001001001 and north ...001001002) and village 002 (one grid ...001002001);
township 002 (east half) has one village with one grid ...002001001. County 620122 (lon 103.04-103.06)
has one grid and one case that a user of 620121 must never see.

The case E sits at lon 103.005, lat 36.005 in grid 620121001001001. Workers, nearest first:
  county   (...002001001)  103.0051, 36.0051  tier 3
  township (...001002001)  103.0052, 36.0052  tier 2
  stale    (...001001002)  103.0053, 36.0053  tier 1, position two hours old: after the fresh of its tier
  village  (...001001002)  103.0050, 36.0070  tier 1
  skilled  (...001001002)  103.0050, 36.0110  tier 1, skill 'neighbour': ranks before 'village'
  owner    (...001001001)  103.0090, 36.0090  tier 0, the grid's responsible worker
  busy     (...001001001)  at capacity; off (...001001001) off duty; neither is a candidate.
"""

from sqlalchemy import text

from geo import clock

COUNTY = "620121"
GRIDS = {
    "620121000000000": ("county", None, (103.00, 36.00, 103.04, 36.02)),
    "620121001000000": ("township", "620121000000000", (103.00, 36.00, 103.02, 36.02)),
    "620121002000000": ("township", "620121000000000", (103.02, 36.00, 103.04, 36.02)),
    "620121001001000": ("village", "620121001000000", (103.00, 36.00, 103.01, 36.02)),
    "620121001002000": ("village", "620121001000000", (103.01, 36.00, 103.02, 36.02)),
    "620121002001000": ("village", "620121002000000", (103.02, 36.00, 103.04, 36.02)),
    "620121001001001": ("grid", "620121001001000", (103.00, 36.00, 103.01, 36.01)),
    "620121001001002": ("grid", "620121001001000", (103.00, 36.01, 103.01, 36.02)),
    "620121001002001": ("grid", "620121001002000", (103.01, 36.00, 103.02, 36.02)),
    "620121002001001": ("grid", "620121002001000", (103.02, 36.00, 103.04, 36.02)),
    "620122000000000": ("county", None, (103.04, 36.00, 103.06, 36.02)),
    "620122001000000": ("township", "620122000000000", (103.04, 36.00, 103.06, 36.02)),
    "620122001001000": ("village", "620122001000000", (103.04, 36.00, 103.06, 36.02)),
    "620122001001001": ("grid", "620122001001000", (103.04, 36.00, 103.06, 36.02)),
}
# name: (home grid, lon, lat, extra columns)
WORKERS = {
    "owner": ("620121001001001", 103.0090, 36.0090, {}),
    "village": ("620121001001002", 103.0050, 36.0070, {}),
    "skilled": ("620121001001002", 103.0050, 36.0110, {"skills": ["neighbour"]}),
    "township": ("620121001002001", 103.0052, 36.0052, {}),
    "county": ("620121002001001", 103.0051, 36.0051, {}),
    "stale": ("620121001001002", 103.0053, 36.0053, {"stale": True}),
    "busy": ("620121001001001", 103.0054, 36.0054, {"open_tasks": 2, "capacity": 2}),
    "off": ("620121001001001", 103.0055, 36.0055, {"on_duty": False}),
    "other_county": ("620122001001001", 103.0500, 36.0100, {}),
}
EVENT_LONLAT = (103.005, 36.005)

_GRID = text("""
INSERT INTO grids (code, name, level, parent_id, geom, synthetic, valid_from)
VALUES (:code, :name, :level, (SELECT id FROM grids WHERE code = :parent AND valid_to IS NULL),
        ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)), true, :now - interval '1 year')
""")
_WORKER = text("""
INSERT INTO workers (name, phone, home_grid_id, geom, located_at, on_duty, skills, open_tasks, capacity)
VALUES (:name, '13900000000', (SELECT id FROM grids WHERE code = :home AND valid_to IS NULL),
        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
        CASE WHEN :stale THEN CAST(:now AS timestamptz) - interval '2 hours' ELSE :now END,
        :on_duty, :skills, :open_tasks, :capacity)
RETURNING id
""")


def add_event(
    conn,
    lon: float = EVENT_LONLAT[0],
    lat: float = EVENT_LONLAT[1],
    *,
    category: str = "neighbour",
    kind: str = "dispute",
    severity: int = 2,
    status: str = "reported",
) -> int:
    """Insert a case (its grid is set by the database trigger) and return its id."""
    return conn.execute(
        text(
            "INSERT INTO events (kind, category, severity, status, source, title, geom, reported_at, created_at) "
            "VALUES (:kind, :cat, :sev, :status, 'patrol', 'tiny', "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :now, :now) "
            "RETURNING id"
        ),
        {
            "kind": kind,
            "cat": category,
            "sev": severity,
            "status": status,
            "lon": lon,
            "lat": lat,
            "now": clock.now(),
        },
    ).scalar_one()


def build(conn) -> dict:
    """Insert the tiny counties, workers, departments and case E; return the ids by name."""
    for code, (level, parent, (x0, y0, x1, y1)) in GRIDS.items():
        conn.execute(
            _GRID,
            {
                "code": code,
                "name": f"{level}-{code[-6:]}",
                "level": level,
                "parent": parent,
                "x0": x0,
                "y0": y0,
                "x1": x1,
                "y1": y1,
                "now": clock.now(),
            },
        )
    ids: dict = {}
    for name, (home, lon, lat, extra) in WORKERS.items():
        ids[name] = conn.execute(
            _WORKER,
            {
                "name": name,
                "home": home,
                "lon": lon,
                "lat": lat,
                "stale": extra.get("stale", False),
                "on_duty": extra.get("on_duty", True),
                "skills": extra.get("skills", []),
                "open_tasks": extra.get("open_tasks", 0),
                "capacity": extra.get("capacity", 8),
                "now": clock.now(),
            },
        ).scalar_one()
    conn.execute(text("UPDATE grids SET worker_id = :w WHERE code = '620121001001001'"), {"w": ids["owner"]})
    ids["committee"] = conn.execute(
        text(
            "INSERT INTO departments (code, name, kind, county_code, categories) VALUES "
            "('tiny-mc', '县人民调解委员会', 'mediation_committee', '620121', '{neighbour,marriage_family}') "
            "RETURNING id"
        )
    ).scalar_one()
    ids["court"] = conn.execute(
        text(
            "INSERT INTO departments (code, name, kind, county_code) "
            "VALUES ('tiny-court', '县人民法院', 'court', "
            "'620121') RETURNING id"
        )
    ).scalar_one()
    ids["other_dept"] = conn.execute(
        text(
            "INSERT INTO departments (code, name, kind, county_code) "
            "VALUES ('tiny-x', '外县公安局', 'police', "
            "'620122') RETURNING id"
        )
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO mediators (department_id, name, phone, on_call) VALUES "
            "(:d, '调解员甲', '13800000001', true), (:d, '调解员乙', '13800000002', false)"
        ),
        {"d": ids["committee"]},
    )
    ids["event"] = add_event(conn)
    ids["other_event"] = add_event(conn, 103.05, 36.01)
    return ids
