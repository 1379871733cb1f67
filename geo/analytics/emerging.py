"""Emerging hot spots over weekly bins, after ArcGIS Pro's Emerging Hot Spot Analysis.

Cases are counted per small grid and week in PostGIS; each week gets Gi* on empirical-Bayes rates
(analytical z, two-sided normal p-values, significant below `emerging_alpha`, 90 % by default as in
ArcGIS), all weeks at once with the area's one weights matrix, and each grid is classified from its
series of significant weeks and the Mann-Kendall trend of its Gi* z-scores (every grid's trend in one
vectorised pass): new, consecutive, intensifying, persistent, diminishing, sporadic, oscillating,
historical (hot or cold), or no pattern. `classify_series` is the rule for one grid, as read;
`classify_rows` applies the same rule to every grid at once. Space is contiguity only (ArcGIS also
adds time neighbours; we do not).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

from geo.analytics import stats
from geo.analytics.cells import Cells, array_text, data_fingerprint, load_cells
from geo.analytics.hotspots import find_current_run, new_run
from geo.analytics.settings import AnalyticsSettings
from geo.queries.layers import display_code, textual

LABELS = {
    "new_hot": "新增热点",
    "consecutive_hot": "连续热点",
    "intensifying_hot": "加剧热点",
    "persistent_hot": "持续热点",
    "diminishing_hot": "减弱热点",
    "sporadic_hot": "零星热点",
    "oscillating_hot": "振荡热点",
    "historical_hot": "历史热点",
    "new_cold": "新增冷点",
    "consecutive_cold": "连续冷点",
    "intensifying_cold": "加剧冷点",
    "persistent_cold": "持续冷点",
    "diminishing_cold": "减弱冷点",
    "sporadic_cold": "零星冷点",
    "oscillating_cold": "振荡冷点",
    "historical_cold": "历史冷点",
    "none": "无显著模式",
}
_HOT_SHADES = ("#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272", "#fcbba1", "#fee0d2")
_COLD_SHADES = ("#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#c6dbef", "#deebf7")
_ORDER = (
    "intensifying",
    "persistent",
    "consecutive",
    "new",
    "oscillating",
    "sporadic",
    "diminishing",
    "historical",
)
CATEGORY_COLORS = {
    **{f"{k}_hot": c for k, c in zip(_ORDER, _HOT_SHADES, strict=True)},
    **{f"{k}_cold": c for k, c in zip(_ORDER, _COLD_SHADES, strict=True)},
    "none": "#f0f0f0",
}


def _side(
    sig: np.ndarray, other: np.ndarray, z: np.ndarray, suffix: str, trend: stats.Trend, sign: int
) -> str | None:
    """The category on one side (hot: sign +1) for a series whose significant bins are `sig`."""
    n, share = sig.size, sig.mean()
    if share >= 0.9 and not sig[-1]:
        return f"historical_{suffix}"
    if not sig[-1]:
        return None
    if share >= 0.9:
        if trend.direction == sign:
            return f"intensifying_{suffix}"
        return f"diminishing_{suffix}" if trend.direction == -sign else f"persistent_{suffix}"
    before = sig[:-1]
    if not before.any():
        return f"new_{suffix}"
    run = n - int(np.flatnonzero(~sig)[-1]) - 1  # length of the final uninterrupted run
    if run >= 2 and not sig[: n - run].any():
        return f"consecutive_{suffix}"
    return f"oscillating_{suffix}" if other[:-1].any() else f"sporadic_{suffix}"


def classify_series(
    z: np.ndarray,
    p: np.ndarray,
    alpha: float = 0.10,
    trend_alpha: float = 0.05,
    trend: stats.Trend | None = None,
) -> str:
    """The emerging hot spot category of one location from its Gi* z-scores and p-values over time."""
    z, p = np.asarray(z, dtype=float), np.asarray(p, dtype=float)
    hot, cold = (p < alpha) & (z > 0), (p < alpha) & (z < 0)
    trend = trend or stats.mann_kendall(z, trend_alpha)
    if cold[-1]:
        return _side(cold, hot, z, "cold", trend, -1) or "none"
    return _side(hot, cold, z, "hot", trend, 1) or _side(cold, hot, z, "cold", trend, -1) or "none"


def _side_rows(sig: np.ndarray, other: np.ndarray, direction: np.ndarray, sign: int) -> np.ndarray:
    """`_side` for every row at once: the pattern name on one side ('' for none)."""
    share = sig.mean(axis=1)
    last = sig[:, -1]
    ever_before = sig[:, :-1].any(axis=1)
    run, before_run = _final_runs(sig)
    persistent = _persistent_names(direction, sign)
    return np.select(
        [
            (share >= 0.9) & ~last,
            ~last,
            share >= 0.9,
            ~ever_before,
            (run >= 2) & ~before_run,
            other[:, :-1].any(axis=1),
        ],
        ["historical", "", persistent, "new", "consecutive", "oscillating"],
        default="sporadic",
    )


def _persistent_names(direction: np.ndarray, sign: int) -> np.ndarray:
    """A series significant almost throughout, by its trend: intensifying, diminishing or persistent."""
    return np.where(
        direction == sign, "intensifying", np.where(direction == -sign, "diminishing", "persistent")
    )


def _final_runs(sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the length of the final uninterrupted run of significant bins, and whether a bin before
    that run is significant too."""
    n = sig.shape[1]
    gaps = ~sig
    last_gap = np.where(gaps.any(axis=1), n - 1 - np.argmax(gaps[:, ::-1], axis=1), -1)
    before_run = sig.any(axis=1) & (np.argmax(sig, axis=1) <= last_gap)  # significant before the final run
    return n - last_gap - 1, before_run


def classify_rows(z: np.ndarray, p: np.ndarray, alpha: float, direction: np.ndarray) -> list[str]:
    """The category of every row (a grid's weekly series), as classify_series decides one."""
    hot, cold = (p < alpha) & (z > 0), (p < alpha) & (z < 0)
    if z.shape[0] == 0:
        return []
    h, c = _side_rows(hot, cold, direction, 1), _side_rows(cold, hot, direction, -1)
    hot_name = np.where(h != "", np.char.add(h.astype(str), "_hot"), "")
    cold_name = np.where(c != "", np.char.add(c.astype(str), "_cold"), "")
    out = np.where(
        cold[:, -1],
        np.where(cold_name != "", cold_name, "none"),
        np.where(hot_name != "", hot_name, np.where(cold_name != "", cold_name, "none")),
    )
    return out.tolist()


@dataclass
class EmergingResult:
    """Category and trend per small grid, in key order."""

    keys: list[str]
    categories: list[str]
    trends: stats.Trends
    hot_bins: np.ndarray
    cold_bins: np.ndarray
    last_z: np.ndarray


def compute_emerging(
    session: Session, area: str, settings: AnalyticsSettings, as_of: datetime
) -> EmergingResult:
    """Weekly counts per small grid (PostGIS), weekly Gi* (one weights matrix), then every category."""
    start = as_of - timedelta(weeks=settings.weeks)
    cells = load_cells(
        session, area, "grid", kinds=settings.kinds, start=start, end=as_of, bins=settings.weeks
    )
    zs = _weekly_z(cells)
    ps = stats.normal_p(zs)
    trends = stats.mann_kendall_rows(zs, settings.trend_alpha)
    sig = ps < settings.emerging_alpha
    return EmergingResult(
        cells.keys,
        classify_rows(zs, ps, settings.emerging_alpha, trends.direction),
        trends,
        (sig & (zs > 0)).sum(1),
        (sig & (zs < 0)).sum(1),
        zs[:, -1] if cells.n else np.zeros(0),
    )


def _weekly_z(cells: Cells) -> np.ndarray:
    """Gi* z-scores of every grid and week on empirical-Bayes rates (zero without three grids or
    contiguity)."""
    base = np.where(cells.km2 > 0, cells.km2, 1e-6)
    if cells.weights is None or cells.n < 3:
        return np.zeros_like(cells.counts)
    return stats.gi_star_z(stats.eb_rates(cells.counts, base), cells.weights)


# The grid's polygon stays in grids (readers join it, as for hot spot cells of small grids); arrays
# bind as text (cells.array_text).
_STORE = text("""
INSERT INTO emerging_cells (run_id, cell, grid_code, geom, category, trend_z, trend_p, hot_bins, cold_bins,
                            last_z)
SELECT :run, u.cell, u.cell, NULL, u.category, u.tz, u.tp, u.hot, u.cold, u.lz
FROM unnest(CAST(:cell AS text[]), CAST(:category AS text[]), CAST(:tz AS float8[]), CAST(:tp AS float8[]),
            CAST(:hot AS int[]), CAST(:cold AS int[]), CAST(:lz AS float8[]))
     AS u(cell, category, tz, tp, hot, cold, lz)
""")


def refresh_emerging(
    session: Session,
    area: str,
    settings: AnalyticsSettings,
    as_of: datetime,
    progress: Callable[[float, str], None] | None = None,
) -> int:
    """The id of a current emerging hot spot run of the area, computed and stored when needed (a job)."""
    say = progress or (lambda fraction, note: None)
    fp = data_fingerprint(session, area)
    if (run := find_current_run(session, "emerging", "grid", area, settings, as_of, fp)) is not None:
        return run
    t0 = time.perf_counter()
    say(0.1, f"逐周统计、{settings.weeks} 周 Gi* 与趋势检验")
    res = compute_emerging(session, area, settings, as_of)
    say(0.7, f"写入 {len(res.keys)} 个网格")
    seconds = time.perf_counter() - t0
    run = new_run(session, "emerging", "grid", area, settings.params("grid"), fp, as_of, seconds)
    _store_emerging(session, run, res)
    return run


def _store_emerging(session: Session, run: int, res: EmergingResult) -> None:
    """Write the small grids of a run."""
    session.execute(
        _STORE,
        {
            "run": run,
            "cell": array_text(res.keys),
            "category": array_text(res.categories),
            "tz": array_text(res.trends.z),
            "tp": array_text(res.trends.p),
            "hot": array_text(res.hot_bins.astype(int)),
            "cold": array_text(res.cold_bins.astype(int)),
            "lz": array_text(res.last_z),
        },
    )


EMERGING_COLUMNS = (
    "id",
    "geom",
    "grid_code",
    "township",
    "category",
    "category_label",
    "trend_z",
    "trend_p",
    "hot_bins",
    "cold_bins",
    "last_z",
    "computed_at",
)

_LABEL = "CASE c.category " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in LABELS.items()) + " END"

_EMERGING = f"""
SELECT c.id, g.geom, {display_code("c.grid_code")} AS grid_code, t.name AS township, c.category,
       {_LABEL} AS category_label, round(c.trend_z::numeric, 3)::float8 AS trend_z,
       round(c.trend_p::numeric, 4)::float8 AS trend_p, c.hot_bins, c.cold_bins,
       round(c.last_z::numeric, 3)::float8 AS last_z, r.computed_at
FROM emerging_cells c
JOIN (SELECT id, computed_at FROM analytics_runs
      WHERE analysis = 'emerging' AND unit = 'grid' AND area = :area
      ORDER BY computed_at DESC, id DESC LIMIT 1) r ON r.id = c.run_id
JOIN grids g ON g.code = c.grid_code AND g.level = 'grid' AND g.valid_to IS NULL
LEFT JOIN grids t ON t.code = left(c.grid_code, 9) || '000000' AND t.level = 'township' AND t.valid_to IS NULL
"""


def emerging_source(area: str) -> TextualSelect:
    """The newest stored emerging hot spot categories of the area's small grids (empty until computed)."""
    return textual(_EMERGING, EMERGING_COLUMNS, area=area)
