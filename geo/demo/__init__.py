"""Deterministic (seeded) demo data: Yongdeng County (永登县, 620121), or all 87 counties of Gansu.

Only the county outlines are real (Amap boundaries, GCJ-02, converted to WGS84). Every township
boundary, village, small grid, worker, case and party is synthetic (`grids.synthetic = true`),
built in memory by `build_county` and written with COPY, in the caller's transaction. The same seed
and `until` give the same data.

    load.py      load_demo: the county (or the province) in the caller's transaction
    build.py     grid levels; events.py, places.py: cases, workers, parties, facilities, departments
    names.py, texts.py  names, phones, titles and descriptions
    write.py     COPY of a built plan; dispatch.py: mediators, deadlines and assignees of open cases
"""

from geo.demo.load import build_county, demo_end, load_demo, province_specs, yongdeng_spec

__all__ = ["build_county", "demo_end", "load_demo", "province_specs", "yongdeng_spec"]
