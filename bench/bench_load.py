"""Time the demo loader: county (Yongdeng) and province (87 Gansu counties), each into a fresh database.

Usage (DATABASE_URL names a server where the user may create databases; the named database itself
is left alone, scratch databases `<name>_bench_county` / `<name>_bench_province` are re-created):
    DATABASE_URL=postgresql://user@host:5432/gridgov .venv/bin/python bench/bench_load.py [--skip-province]
        [--seed 620121] [--until 2026-11-27] [--keep]

Prints, per run: seconds to migrate, seconds inside load_demo (build + COPY + index rebuild + check +
ANALYZE, as load_demo reports), seconds to commit, and the row counts. --keep leaves the databases.
"""

import argparse
import os
import time
from datetime import date

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from geo.db.migrate import upgrade
from geo.demo import load_demo


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _fresh_database(url: str, name: str) -> str:
    """(Re-)create database `name` on the server of `url`; return its URL."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str, name: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def bench(url: str, label: str, *, province: bool, seed: int, until: date, keep: bool) -> None:
    """Migrate a fresh database, load the demo, commit; print the timings."""
    name = f"{make_url(url).database}_bench_{label}"
    db_url = _fresh_database(url, name)
    engine = create_engine(db_url)
    start = time.perf_counter()
    upgrade(engine)
    migrated = time.perf_counter()
    with Session(engine) as session:
        summary = load_demo(session, seed=seed, until=until, province=province, progress=True)
        loaded = time.perf_counter()
        session.commit()
    done = time.perf_counter()
    engine.dispose()
    print(
        f"{label}: migrate {migrated - start:.1f} s, load_demo {loaded - migrated:.1f} s, "
        f"commit {done - loaded:.1f} s, total {done - start:.1f} s"
    )
    print("   " + ", ".join(f"{k}={v:,}" for k, v in summary.items()))
    if not keep:
        _drop_database(url, name)


def main() -> None:
    """Parse the arguments and run the county, then the province benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-province", action="store_true")
    parser.add_argument("--seed", type=int, default=620121)
    parser.add_argument("--until", type=date.fromisoformat, default=date(2026, 11, 27))
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()
    url = _sqlalchemy_url(os.environ["DATABASE_URL"])
    bench(url, "county", province=False, seed=args.seed, until=args.until, keep=args.keep)
    if not args.skip_province:
        bench(url, "province", province=True, seed=args.seed, until=args.until, keep=args.keep)


if __name__ == "__main__":
    main()
