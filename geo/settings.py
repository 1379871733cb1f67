"""Settings of the spatial core, one class per concern: the database, spatial limits, dispatch, jobs,
the county's time zone and the audit log."""

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, PostgresDsn, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DbSettings(BaseSettings):
    """Database connections. `url` (`DATABASE_URL` wins over `GRID_DB_URL`) is the app's login: a role that
    is neither superuser nor owner (`gridgov serve` refuses anything else), so that row-level security
    binds it. `owner_url` is the tables' owner: migrations, the demo loader, the CLI's imports, backups
    and job workers use it (`gridgov migrate` also creates the app's login from `url`). Without it those
    use `url`, which then must be the owner's."""

    model_config = SettingsConfigDict(env_prefix="GRID_DB_", env_file=".env", extra="ignore")

    url: PostgresDsn = Field(
        default="postgresql+psycopg://gridgov_web@127.0.0.1:5432/gridgov",
        validation_alias=AliasChoices("DATABASE_URL", "GRID_DB_URL", "url"),
    )
    owner_url: PostgresDsn | None = None
    pool_size: int = 10
    max_overflow: int = 10
    statement_timeout_ms: int = 30_000
    # How long a request waits for a pooled connection before it gets 503.
    pool_timeout_s: float = 5.0
    # A pooled connection idle for longer than this is pinged before a request gets it (one that fails,
    # say after a database restart, is replaced); a busy pool's connections are not (see geo.db.engine).
    pool_ping_idle_s: float = 10.0
    # Parallel workers per query (max_parallel_workers_per_gather) of every connection. Starting a
    # worker (loading PostGIS and PROJ into it) costs more than the app's index-driven, LIMITed queries
    # save, so by default they run in one process; the few long jobs raise it for their own transaction
    # (geo.db.allow_parallel).
    parallel_workers: int = 0
    # A PostgreSQL streaming replica (hot standby) of `url`: when set, read-only requests (GET, HEAD)
    # read from it, except a browser's next reads after its own write until the replica has replayed
    # that write (api.deps.choose_engine). Unset: every request uses `url`.
    replica_url: PostgresDsn | None = Field(
        default=None,
        validation_alias=AliasChoices("GRID_DATABASE_REPLICA_URL", "GRID_DB_REPLICA_URL", "replica_url"),
    )
    # How long after a write its writer's reads keep checking that the replica has caught up with it.
    replica_sticky_s: float = Field(default=60.0, ge=0)

    @field_validator("url", "owner_url", "replica_url", mode="before")
    @classmethod
    def _use_psycopg3(cls, value: object) -> object:
        """Accept postgres:// and postgresql:// URLs; SQLAlchemy must use the psycopg 3 driver."""
        if isinstance(value, str):
            for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
                if value.startswith(prefix):
                    return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def sqlalchemy_url(self) -> str:
        """The URL as SQLAlchemy wants it."""
        return str(self.url)

    @property
    def replica_sqlalchemy_url(self) -> str | None:
        """The replica's URL as SQLAlchemy wants it (None without a replica)."""
        return str(self.replica_url) if self.replica_url else None

    @property
    def connection_options(self) -> str:
        """libpq `options` of every app connection, pooled sync or async.

        jit=off: every query here is short OLTP/paging work; PostgreSQL's JIT cost model fires on the
        large estimated row counts of province-scale layer queries and spends 30-60 ms compiling before
        a 60-100 ms query even starts, which never pays back.
        plan_cache_mode=force_custom_plan: psycopg prepares a statement after it ran five times, and
        PostgreSQL then switches to a generic plan that cannot see the bound area, bbox or tile: a
        county's z10 disputes tile went from 30 to 72 ms. A custom plan per execution costs a planning
        (~0.1-0.5 ms) and keeps the plan that fits the values (bench/bench_province.py measures both).
        """
        return (
            f"-c statement_timeout={self.statement_timeout_ms} -c jit=off "
            f"-c max_parallel_workers_per_gather={int(self.parallel_workers)} "
            "-c plan_cache_mode=force_custom_plan"
        )

    @property
    def libpq_url(self) -> str:
        """The app's URL as libpq tools (psql, pg_dump) want it."""
        return str(self.url).replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def owner_sqlalchemy_url(self) -> str:
        """The owner's URL as SQLAlchemy wants it (the app's when no owner URL is set)."""
        return str(self.owner_url or self.url)

    @property
    def owner_libpq_url(self) -> str:
        """The owner's URL as libpq tools (pg_dump, pg_restore) want it."""
        return self.owner_sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def as_owner(self) -> "DbSettings":
        """These settings connecting as the owner (for engines of migrations, loaders and jobs)."""
        return self.model_copy(update={"url": self.owner_url or self.url})


NESTING_TOLERANCE_M2 = 1.0  # GeoSettings' default, also the default of the functions that take it


class GeoSettings(BaseSettings):
    """Spatial limits and tolerances."""

    model_config = SettingsConfigDict(env_prefix="GRID_GEO_", env_file=".env", extra="ignore")

    # Nesting checks: overlaps or spill-outs smaller than this many square metres are float noise.
    nesting_tolerance_m2: float = NESTING_TOLERANCE_M2
    # A point more than this far outside the county is refused rather than snapped.
    county_margin_m: float = 0.0
    default_limit: int = 100
    max_features_per_query: int = 10_000

    @model_validator(mode="after")
    def _limits_agree(self) -> "GeoSettings":
        """The default page must fit in the maximum page."""
        if self.default_limit > self.max_features_per_query:
            raise ValueError("default_limit must not exceed max_features_per_query")
        return self


class TimeSettings(BaseSettings):
    """The county's time zone (geo.clock): day boundaries, periods, deadlines and every time shown."""

    model_config = SettingsConfigDict(env_prefix="GRID_TIME_", env_file=".env", extra="ignore")

    zone: str = "Asia/Shanghai"

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """An IANA zone name the machine knows."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value


class JobSettings(BaseSettings):
    """The job queue (geo.jobs): how soon writes are followed by fresh analyses, and the schedules."""

    model_config = SettingsConfigDict(env_prefix="GRID_JOBS_", env_file=".env", extra="ignore")

    # A change of a case queues its county's refresh this many seconds later (later changes fold in).
    refresh_delay_s: float = Field(default=30.0, ge=0)
    # The hot spot analyses it then queues run at most this often per area.
    analytics_delay_s: float = Field(default=600.0, ge=0)
    # Grades move with the clock too (cases fall overdue): every county is graded this often.
    risk_every_min: int = Field(default=10, ge=1, le=1440)
    # Reports of ended periods are issued, and every county's analyses refreshed, daily at these times.
    reports_at: str = "00:05"
    analytics_at: str = "01:00"
    poll_s: float = Field(default=1.0, gt=0)
    # Worker threads `gridgov serve` runs beside the app (0: run `gridgov worker` processes instead).
    serve_workers: int = Field(default=1, ge=0, le=16)
    # A job running longer than this is taken to have lost its worker, and is failed.
    timeout_s: float = Field(default=3600.0, gt=0)
    retries: int = Field(default=2, ge=0)

    @field_validator("reports_at", "analytics_at")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        """A time of day as HH:MM."""
        hh, _, mm = value.partition(":")
        if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
            raise ValueError(f"a time of day must be HH:MM; got {value!r}")
        return value


@lru_cache
def get_time_settings() -> TimeSettings:
    """Time settings from the environment, read once."""
    return TimeSettings()


class DispatchSettings(BaseSettings):
    """How candidates are found, what counts as a duplicate, and when a case is near its deadline."""

    model_config = SettingsConfigDict(env_prefix="GRID_DISPATCH_", env_file=".env", extra="ignore")

    # A position older than this is a stale fix, not a position: such workers are not candidates.
    max_position_age_s: int = Field(default=1800, gt=0)
    # How far the candidate search widens: the village, the township, or the whole county.
    candidate_scope: Literal["village", "township", "county"] = "county"
    default_candidates: int = Field(default=5, ge=1, le=50)
    max_candidates: int = Field(default=50, ge=1, le=200)
    # A reported position further than this outside the county boundary is refused.
    max_outside_county_m: float = Field(default=5000.0, ge=0)
    # Possible duplicates: same category within this radius and this time window.
    duplicate_radius_m: float = Field(default=200.0, gt=0)
    duplicate_window_h: float = Field(default=72.0, gt=0)
    # Open cases due within this many hours are listed as due soon.
    near_deadline_h: float = Field(default=24.0, gt=0)
    # A department asked to report (吹哨, or given a referral) must answer (报到) within this many hours
    # unless told otherwise, and report back when done (办结反馈) within this many.
    default_whistle_hours: int = Field(default=24, gt=0)
    default_feedback_hours: int = Field(default=72, gt=0)


class AuditSettings(BaseSettings):
    """The audit log: how long rows are kept (GB/T 22239 level 3: 180 days at least)."""

    model_config = SettingsConfigDict(env_prefix="GRID_AUDIT_", env_file=".env", extra="ignore")

    # `gridgov audit purge` deletes rows older than this many days; the database refuses fewer than 180.
    retention_days: int = Field(default=180, ge=180, le=36500)


class FieldSettings(BaseSettings):
    """Field work (geo.queries.fixes, visits, coverage; geo.analytics.assessment): positions from the
    phone, patrol tracks, retention of the position history and the monthly assessment's targets."""

    model_config = SettingsConfigDict(env_prefix="GRID_FIELD_", env_file=".env", extra="ignore")

    # The phone page sends a fix this often while the worker moves, and never more often than the floor.
    fix_every_s: int = Field(default=120, ge=30, le=3600)
    fix_min_interval_s: int = Field(default=30, ge=5, le=3600)
    # A batch holds at most this many fixes; a fix of a device clock ahead of the server's by more than
    # the skew is refused (the phone is told to set its clock).
    max_batch: int = Field(default=200, ge=1, le=2000)
    clock_skew_s: int = Field(default=120, ge=0, le=3600)
    # Tracks: fixes less accurate than this are dropped; a gap longer than this starts a new segment.
    max_accuracy_m: float = Field(default=100.0, gt=0)
    track_gap_s: int = Field(default=900, ge=60)
    # Position history (fixes, tracks) older than this many days is dropped, month by month.
    retention_days: int = Field(default=180, ge=31)
    # Monthly partitions of the position history are prepared this many months ahead.
    months_ahead: int = Field(default=2, ge=1, le=24)
    # The monthly assessment's targets (100 % of their part of the score).
    patrol_days_target: int = Field(default=20, ge=1, le=31)
    visits_target: int = Field(default=40, ge=1)
    km_target: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _cadence(self) -> "FieldSettings":
        """The floor between fixes cannot exceed their cadence, nor the cadence the track gap."""
        if self.fix_min_interval_s > self.fix_every_s:
            raise ValueError("fix_min_interval_s must not exceed fix_every_s")
        if self.fix_every_s >= self.track_gap_s:
            raise ValueError("fix_every_s must be shorter than track_gap_s (or every track would break)")
        return self
