"""The pure, in-memory part of the demo: one county's grid hierarchy, built from its outline and a seeded RNG.

Inner boundaries are synthetic: Voronoi cells of seed points, clipped (intersected) to the parent,
so children never overlap and their union is the parent, level by level:
county -> townships -> villages -> small grids. Seeds are denser where people live (around the
township seats and along rivers), so grids are small in towns and large in empty hills.
Nothing here touches the database; `geo.demo` writes a `CountyPlan` with COPY.
"""

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import MultiPoint, MultiPolygon, Point

from geo.demo import names

KM_PER_DEG = 111.0


@dataclass(frozen=True)
class CountySpec:
    """What to build for one county: its WGS84 outline, its numbers and (optionally) real townships."""

    adcode: str
    name: str
    outline: MultiPolygon
    townships: int
    villages: int
    grids: int
    disputes: int
    hazards: int
    appeals: int
    wage_workers: int
    wage_recovered_yuan: float
    city: str = ""
    named_townships: tuple = ()  # (name, lon, lat, weight) of real townships, seat first
    rivers: tuple = ()  # WGS84 polylines people live along


@dataclass
class Level:
    """The grids of one level, in code order: parallel lists/arrays."""

    codes: list[str]
    names: list[str]
    parents: list[int]  # index into the level above (-1 for the county)
    geoms: np.ndarray  # shapely MultiPolygons, WGS84
    seeds: np.ndarray  # (n, 2) lon/lat of each grid's centre (its Voronoi seed)
    people: np.ndarray  # relative population estimate


@dataclass
class CountyPlan:
    """Everything one county adds: levels of grids, then workers, events, parties, facilities, departments."""

    spec: CountySpec
    levels: dict[str, Level]
    workers: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    parties: dict = field(default_factory=dict)
    facilities: dict = field(default_factory=dict)
    departments: list = field(default_factory=list)


class Density:
    """Relative population density at WGS84 points: hubs (seats) as Gaussians, rivers as ridges."""

    def __init__(self, hubs: np.ndarray, rivers: tuple = (), base: float = 0.05):
        """Hubs are rows (lon, lat, weight, sigma in degrees); rivers are WGS84 polylines."""
        self.hubs = hubs  # (n, 4): lon, lat, weight, sigma in degrees
        self.rivers = [shapely.LineString(r) for r in rivers]
        self.base = base
        self.peak = base + float(hubs[:, 2].max()) + (0.6 if self.rivers else 0.0)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Density at each (x, y)."""
        out = np.full(len(x), self.base)
        if not len(x):
            return out
        reach = 4 * self.hubs[:, 3]  # hubs further than 4 sigma from every point add nothing
        near = (
            (self.hubs[:, 0] > x.min() - reach / 0.8)
            & (self.hubs[:, 0] < x.max() + reach / 0.8)
            & (self.hubs[:, 1] > y.min() - reach)
            & (self.hubs[:, 1] < y.max() + reach)
        )
        for hx, hy, w, s in self.hubs[near]:
            out += w * np.exp(-((x - hx) ** 2 * 0.64 + (y - hy) ** 2) / (2 * s * s))
        if self.rivers:
            pts = shapely.points(x, y)
            for river in self.rivers:
                out += 0.6 * np.exp(-(shapely.distance(pts, river) ** 2) / (2 * 0.02**2))
        return out


def as_multi(geom) -> MultiPolygon:
    """Keep only the polygonal parts of a geometry, as a valid MultiPolygon."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p) if q.geom_type == "Polygon" and not q.is_empty]
    return MultiPolygon(polys)


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` over weights by largest remainder, at least 1 each (total >= len(weights))."""
    n = len(weights)
    share = (total - n) * weights / weights.sum()
    out = np.floor(share).astype(int)
    order = np.argsort(-(share - out), kind="stable")
    out[order[: total - n - out.sum()]] += 1
    return out + 1


def sample_in(
    rng, geom, n: int, density: Density, hub: tuple[float, float] | None, spread: float
) -> np.ndarray:
    """`n` points inside `geom`: half near the hub (Gaussian, `spread` degrees), half by density."""
    shapely.prepare(geom)
    bounds = geom.bounds
    got: list[np.ndarray] = []
    count = 0
    for _ in range(200):
        x, y, keep = _candidates(rng, bounds, max(4 * (n - count), 16), density, hub, spread)
        keep &= shapely.contains_xy(geom, x, y)
        pts = np.column_stack([x[keep], y[keep]])[: n - count]
        got.append(pts)
        count += len(pts)
        if count >= n:
            return np.concatenate(got)
    raise RuntimeError("could not place demo seeds inside a grid")  # only for degenerate slivers


def _candidates(rng, bounds: tuple, m: int, density: Density, hub, spread: float):
    """`m` candidate points in the bounds (x, y, keep): kept by density, or (half) drawn near the hub."""
    minx, miny, maxx, maxy = bounds
    x, y = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
    keep = rng.random(m) * density.peak < density(x, y)
    if hub is not None:
        near = rng.random(m) < 0.5
        x[near] = hub[0] + rng.normal(0, spread, near.sum()) / 0.8
        y[near] = hub[1] + rng.normal(0, spread, near.sum())
        keep |= near
    return x, y, keep


def partition(parent, seeds: np.ndarray) -> list[MultiPolygon]:
    """Voronoi cells of the seeds clipped to the parent: no gaps, no overlaps, union = parent."""
    if len(seeds) == 1:
        return [as_multi(parent)]
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=parent, ordered=True)
    # Densified so that a parent edge split by a child keeps its shape on the sphere (geography areas add up)
    cells = shapely.segmentize(np.array(shapely.get_parts(cells)), 0.005)
    clipped = shapely.intersection(cells, parent)
    return [as_multi(c) for c in clipped]


def people_in(rng, geoms: np.ndarray, density: Density, k: int = 16) -> np.ndarray:
    """Estimate how many people live in each polygon: area times mean density at random points."""
    idx = np.repeat(np.arange(len(geoms)), k)
    bounds = shapely.bounds(geoms)[idx]
    shapely.prepare(geoms)
    x = rng.uniform(bounds[:, 0], bounds[:, 2])
    y = rng.uniform(bounds[:, 1], bounds[:, 3])
    inside = shapely.contains_xy(geoms[idx], x, y)
    dens = np.where(inside, density(x, y), 0.0)
    bbox_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    return np.bincount(idx, dens * bbox_area, len(geoms)) / k + 1e-12


def snap_inside(outline, lon: float, lat: float) -> tuple[float, float]:
    """The point itself if inside the outline, else a point of the outline near it."""
    if outline.contains(Point(lon, lat)):
        return lon, lat
    near = outline.intersection(Point(lon, lat).buffer(0.08))
    p = (near if not near.is_empty else outline).point_on_surface()
    return p.x, p.y


def township_hubs(rng, spec: CountySpec) -> tuple[list[str], np.ndarray]:
    """Township names and hubs (lon, lat, weight, sigma): the real ones, or synthetic ones by density."""
    if spec.named_townships:
        rows = [(n, *snap_inside(spec.outline, x, y), w) for n, x, y, w in spec.named_townships]
    else:
        flat = Density(np.array([[0.0, 0.0, 0.0, 1.0]]), base=1.0)
        pts = sample_in(rng, spec.outline, spec.townships, flat, None, 0.0)
        town_names = names.township_names(rng, spec.townships)
        weights = np.concatenate([[6.0], rng.uniform(0.6, 2.5, spec.townships - 1)])
        rows = [(n, x, y, w) for n, (x, y), w in zip(town_names, pts, weights, strict=True)]
    hubs = np.array([[x, y, w, 0.025 + 0.01 * w] for _, x, y, w in rows])
    return [r[0] for r in rows], hubs


def build_levels(rng, spec: CountySpec) -> tuple[dict[str, Level], Density]:
    """The county, its townships, villages and small grids, nested exactly by construction."""
    town_names, hubs = township_hubs(rng, spec)
    density = Density(hubs, spec.rivers)
    county = Level(
        [spec.adcode + "000000000"],
        [spec.name],
        [-1],
        np.array([spec.outline]),
        np.array([hubs[0, :2]]),
        np.array([1.0]),
    )
    towns = _townships(rng, spec, town_names, hubs, density)
    villages = _children(rng, towns, spec.villages, density, "village")
    _name_villages(rng, villages, towns)
    grids = _children(rng, villages, spec.grids, density, "grid")
    return {"county": county, "township": towns, "village": villages, "grid": grids}, density


def _townships(rng, spec: CountySpec, town_names: list[str], hubs: np.ndarray, density: Density) -> Level:
    """The townships: the county split around their hubs."""
    town_geoms = np.array(partition(spec.outline, hubs[:, :2]))
    return Level(
        [f"{spec.adcode}{i + 1:03d}000000" for i in range(len(hubs))],
        town_names,
        [0] * len(hubs),
        town_geoms,
        hubs[:, :2],
        people_in(rng, town_geoms, density),
    )


def _children(rng, parents: Level, total: int, density: Density, level: str) -> Level:
    """Split every parent into children (at least one each), more where more people live."""
    area = shapely.area(parents.geoms)
    counts = allocate(total, 0.7 * parents.people / parents.people.sum() + 0.3 * area / area.sum())
    codes, parent_idx, geoms, seeds = [], [], [], []
    for p, n in enumerate(counts):
        spread = 0.25 * float(np.sqrt(area[p]))
        pts = sample_in(rng, parents.geoms[p], int(n), density, tuple(parents.seeds[p]), spread)
        geoms += partition(parents.geoms[p], pts)
        seeds.append(pts)
        prefix = parents.codes[p][: 9 if level == "village" else 12]
        tail = "000" if level == "village" else ""
        codes += [f"{prefix}{j + 1:03d}{tail}" for j in range(n)]
        parent_idx += [p] * int(n)
    geom_arr = np.array(geoms)
    names_ = _grid_names(parents, parent_idx, codes)
    return Level(
        codes, names_, parent_idx, geom_arr, np.concatenate(seeds), people_in(rng, geom_arr, density)
    )


def _grid_names(parents: Level, parent_idx: list[int], codes: list[str]) -> list[str]:
    """某某第N网格 after the parent and the code's last segment (villages are renamed afterwards)."""
    return [f"{parents.names[p]}第{c[12:15].lstrip('0')}网格" for p, c in zip(parent_idx, codes, strict=True)]


def _name_villages(rng, villages: Level, towns: Level) -> None:
    """Villages get 某某村 names; the ones close to the county seat become 某某社区 (urban communities)."""
    seat = towns.seeds[0]
    dist_km = np.hypot((villages.seeds[:, 0] - seat[0]) * 0.8, villages.seeds[:, 1] - seat[1]) * KM_PER_DEG
    urban = (np.array(villages.parents) == 0) & (dist_km < 4.0)
    taken: set[str] = set()
    communities = iter(names.community_names(rng, int(urban.sum()), taken))
    rural = iter(names.place_names(rng, int((~urban).sum()), "村", taken))
    villages.names = [next(communities) if u else next(rural) for u in urban]
