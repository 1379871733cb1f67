"""The `gridgov` command: serve, worker, migrate, demo, import, export, calendar, user, audit, secret.

`serve` runs the app as its login (DATABASE_URL: neither superuser nor owner; it refuses anything else)
and its job workers as the owner (GRID_DB_OWNER_URL); every other command is the operator's, as the owner.
"""

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.settings import ApiSettings
from cli import common
from geo.errors import GeoError
from geo.settings import DbSettings


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the app with uvicorn: GRID_API_WORKERS processes (each builds the app from the environment,
    as this one does), and the job worker threads in this process."""
    from api.main import create_app

    settings = common.settings()
    try:
        app = create_app(settings)  # refuses a public or short signing secret
        refuse_privileged_login(settings.db)
    except RuntimeError as exc:
        print(f"gridgov serve: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    stop = _start_job_threads(settings.jobs.serve_workers)
    try:
        _run_uvicorn(app, args, settings.api)
    finally:
        stop()
    return 0


def _run_uvicorn(app: Any, args: argparse.Namespace, api: ApiSettings) -> None:
    """Serve `app` until interrupted: here, or in `--workers` processes that build their own."""
    import uvicorn

    host = args.host or api.host
    port = args.port or api.port
    workers = args.workers or api.workers
    if workers > 1:  # each process builds its own app from the same environment
        uvicorn.run(
            "api.main:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
        )
    else:
        uvicorn.run(app, host=host, port=port, log_level="info")


def refuse_privileged_login(db: DbSettings) -> None:
    """RuntimeError when the app's login is a superuser, bypasses RLS or owns the tables (a database
    that does not answer yet is left to the app, which answers 503 until it does)."""
    from sqlalchemy.exc import OperationalError

    from api.main import login_problem_message
    from geo.db.engine import login_role_problem, make_engine

    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            problem = login_role_problem(conn)
    except OperationalError:
        return
    finally:
        engine.dispose()
    if problem:
        raise RuntimeError(login_problem_message(problem))


def _start_job_threads(count: int) -> Callable[[], None]:
    """Run `count` job workers beside the app (GRID_JOBS_SERVE_WORKERS); returns what stops them."""
    from geo.db.engine import make_engine, make_sessionmaker
    from geo.jobs.runner import start_threads

    if count < 1:
        return lambda: None
    engine = make_engine(common.settings().db, owner=True)  # jobs store analyses for every area
    event, threads = start_threads(make_sessionmaker(engine), common.job_context(), count)

    def stop() -> None:
        event.set()
        for t in threads:
            t.join(timeout=30)
        engine.dispose()

    return stop


def cmd_worker(args: argparse.Namespace) -> int:
    """Run job workers until interrupted (several processes, on several machines, share the queue)."""
    import logging

    from geo.db.engine import make_engine, make_sessionmaker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine = make_engine(common.settings().db, owner=True)  # jobs store analyses for every area
    make_session = make_sessionmaker(engine)
    try:
        _run_jobs(make_session, once=args.once)
    finally:
        engine.dispose()
    return 0


def _run_jobs(make_session: sessionmaker, *, once: bool) -> None:
    """Run the jobs due now and say how many (`once`), else run them until interrupted."""
    import threading

    from geo.jobs.runner import run_forever, run_until_idle

    if once:
        print(f"ran {run_until_idle(make_session, common.job_context())} job(s)")  # noqa: T201
        return
    stop = threading.Event()
    try:
        run_forever(make_session, common.job_context(), stop)
    except KeyboardInterrupt:
        stop.set()


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the schema up to date (as the owner) and create or align the app's login role."""
    from geo.db.engine import make_engine
    from geo.db.migrate import upgrade

    db = common.settings().db
    engine = make_engine(db, owner=True)
    try:
        synced = upgrade(engine, app_url=db.libpq_url if db.owner_url else None)
    finally:
        engine.dispose()
    print("schema is up to date")  # noqa: T201
    if synced:
        from cli.calendar import import_summary

        print(import_summary(synced, dry_run=False))  # noqa: T201
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the demo county (or the whole province) into an empty database, then its analyses."""
    from cli.access import print_demo_accounts

    with common.session() as session:
        summary = _load_demo(session, args)
        session.commit()
        _print_demo_summary(summary)
        print_demo_accounts(session)
        if summary.get("skipped"):
            return 0
        _run_demo_analyses(session, province=args.province)
        session.commit()
    return 0


def _load_demo(session: Session, args: argparse.Namespace) -> dict[str, float]:
    """Load the demo data the arguments ask for; what was loaded, or `skipped` (grids already there)."""
    from geo.demo import load_demo

    return load_demo(
        session,
        seed=args.seed,
        until=args.until,
        province=args.province,
        progress=not args.quiet,
        if_empty=args.if_empty,
        fieldwork=common.settings().fieldwork,
    )


def _print_demo_summary(summary: dict[str, float]) -> None:
    """Say what the demo loaded, or why it loaded nothing."""
    if summary.get("skipped"):
        print("the database already holds grids: demo not loaded (drop the data first to reload)")  # noqa: T201
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")  # noqa: T201


def _run_demo_analyses(session: Session, *, province: bool) -> None:
    """Compute the demo county's analyses now; the province's are queued instead."""
    from geo.jobs.tasks import compute_all, counties, queue_all

    if province:  # minutes of analyses: queued for `gridgov worker` (or the serve threads)
        print(f"queued the analyses of {queue_all(session)} counties: run `gridgov worker`")  # noqa: T201
    else:
        for county in counties(session):
            compute_all(session, county, common.job_context())


def cmd_jobs(args: argparse.Namespace) -> int:
    """List the jobs waiting and running (with progress), or the newest ones with --all."""
    from geo.jobs import queue

    with common.session() as session:
        rows = (
            queue.list_recent(session, args.area or "")
            if args.all
            else queue.list_open(session, args.area or "")
        )
    for r in rows:
        done = f"{100 * r['progress']:3.0f}%" if r.get("progress") is not None else "    "
        params = "".join(f" {k}={v}" for k, v in (r["params"] or {}).items())
        line = (
            f"{r['id']:>8} {r['status']:8} {done} {r['kind']:9} {r['area']:15}{params}  {r.get('note') or ''}"
        )
        print(line)  # noqa: T201
    if not rows:
        print("no jobs waiting or running" if not args.all else "no jobs")  # noqa: T201
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import grids or events from a file, in one transaction."""
    with common.session() as session:
        report = _import_file(session, args)
        common.commit_unless_dry_run(session, args.dry_run)
    print(report.summary() + (" (dry run: nothing written)" if args.dry_run else ""))  # noqa: T201
    return 0


def _import_file(session: Session, args: argparse.Namespace) -> Any:
    """Read and write the grids or events of the file; the import's report."""
    from geo import io

    if args.what == "grids":
        return io.import_grids(
            session,
            args.file,
            level=args.level,
            crs=args.crs,
            layer=args.layer,
            encoding=args.encoding,
            make_valid=args.make_valid,
            tolerance_m2=common.settings().geo.nesting_tolerance_m2,
        )
    return io.import_events(session, args.file, crs=args.crs or "wgs84", sheet=args.layer)


def cmd_export(args: argparse.Namespace) -> int:
    """Export a layer to GeoJSON, GeoPackage, CSV or XLSX."""
    from geo import io
    from geo.io.export import parse_filter

    flt = parse_filter(args.bbox, args.since, args.until, args.category)
    with common.session() as session:
        count = io.export_layer(session, args.layer, args.file, area=args.area, flt=flt)
    print(f"wrote {count} features to {args.file}")  # noqa: T201
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="gridgov", description="Grid governance map console (网格化社会治理)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_commands(sub)
    _add_demo_command(sub)
    _add_import_command(sub)
    _add_export_command(sub)

    from cli.access import add_access_commands
    from cli.calendar import add_calendar_commands
    from cli.security import add_security_commands

    add_access_commands(sub)
    add_calendar_commands(sub)
    add_security_commands(sub)
    return parser


def _add_run_commands(sub: argparse._SubParsersAction) -> None:
    """Register `serve`, `worker`, `jobs` and `migrate`: running the product and its schema."""
    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", help="default GRID_API_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default GRID_API_PORT or 8000")
    serve.add_argument("--workers", type=int, help="app processes (default GRID_API_WORKERS or 1)")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run analytics and report jobs from the queue")
    worker.add_argument("--once", action="store_true", help="run what is due now, then exit")
    worker.set_defaults(func=cmd_worker)

    jobs = sub.add_parser("jobs", help="the jobs waiting and running, with their progress")
    jobs.add_argument("--all", action="store_true", help="the newest jobs, finished ones too")
    jobs.add_argument("--area", help="only jobs of areas within this grid-code prefix")
    jobs.set_defaults(func=cmd_jobs)

    sub.add_parser("migrate", help="create or upgrade the schema").set_defaults(func=cmd_migrate)


def _add_demo_command(sub: argparse._SubParsersAction) -> None:
    """Register `demo`."""
    demo = sub.add_parser("demo", help="load the demo county (Yongdeng, synthetic grids and cases)")
    demo.add_argument("--province", action="store_true", help="all 87 counties of Gansu (benchmark scale)")
    demo.add_argument("--seed", type=int, default=620121)
    demo.add_argument("--until", type=date.fromisoformat, default=None, help="last day of the demo year")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when grids are already loaded")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)


def _add_import_command(sub: argparse._SubParsersAction) -> None:
    """Register `import`."""
    imp = sub.add_parser("import", help="import grids or events")
    imp.add_argument("what", choices=["grids", "events"])
    imp.add_argument("file", type=Path)
    imp.add_argument("--level", choices=["county", "township", "village", "grid"])
    imp.add_argument("--crs", help="source CRS when the file does not say: EPSG code, wgs84, gcj02 or bd09")
    imp.add_argument("--layer", help="layer (GeoPackage/KML) or sheet (XLSX) to read")
    imp.add_argument("--encoding", help="text encoding of a shapefile's .dbf (default: .cpg, else GBK)")
    imp.add_argument("--make-valid", action="store_true", help="repair invalid polygons and report them")
    imp.add_argument("--dry-run", action="store_true", help="validate everything, write nothing")
    imp.set_defaults(func=cmd_import)


def _add_export_command(sub: argparse._SubParsersAction) -> None:
    """Register `export`."""
    exp = sub.add_parser("export", help="export a layer to .geojson, .gpkg, .csv or .xlsx")
    exp.add_argument("layer")
    exp.add_argument("file", type=Path)
    exp.add_argument("--area", help="grid code prefix to export (default: everything)")
    exp.add_argument("--bbox", help="minx,miny,maxx,maxy in WGS84 lon/lat")
    exp.add_argument("--from", dest="since", help="cases reported on or after this day, YYYY-MM-DD")
    exp.add_argument("--to", dest="until", help="cases reported on or before this day, YYYY-MM-DD")
    exp.add_argument("--category", help="category code(s) of the cases, comma-separated")
    exp.set_defaults(func=cmd_export)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gridgov` command."""
    args = build_parser().parse_args(argv)
    if args.command == "import" and args.what == "grids" and not args.level:
        print("gridgov import grids: --level county|township|village|grid is required", file=sys.stderr)  # noqa: T201
        return 2
    if args.command == "user":
        from cli.access import check_user_args

        problem = check_user_args(args)
        if problem:
            print(problem, file=sys.stderr)  # noqa: T201
            return 2
    try:
        return args.func(args)
    except GeoError as exc:
        where = f" [{exc.where}]" if exc.where else ""
        print(f"error{where}: {exc.message}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main())
