"""Period reports drawn for people: static maps (geopandas + matplotlib, offline), HTML (Jinja) and PDF.

Maps are drawn from the report's stored per-grid figures over the current grid polygons, so an issued
report looks the same whenever it is opened. The PDF is the same HTML laid out by WeasyPrint (pango
from Debian; no browser, no network), with Noto Sans CJK for the Chinese text.
"""

import base64
import io
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from geo import clock, vocabulary
from geo.models import format_code
from geo.queries.grids import area_name, map_shapes

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _matplotlib() -> Any:
    """pyplot on the Agg backend with the CJK font registered (once)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    if CJK_FONT.exists() and not getattr(_matplotlib, "done", False):
        font_manager.fontManager.addfont(str(CJK_FONT))
        name = font_manager.FontProperties(fname=str(CJK_FONT)).get_name()
        plt.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
        plt.rcParams["axes.unicode_minus"] = False
        _matplotlib.done = True  # type: ignore[attr-defined]
    return plt


def report_map_png(session: Session, report: dict[str, Any]) -> bytes:
    """A PNG map of the report's area: new cases per small grid, hot spots outlined, townships drawn."""
    plt = _matplotlib()
    gdf = map_shapes(session, report["area"])
    wide = report.get("by_level") == "county"  # a province or a city: counties, not grids
    grids = _with_new_cases(gdf[gdf.level == ("county" if wide else "grid")].copy(), report, wide)
    fig, ax = plt.subplots(figsize=(7.5, 6), dpi=110)
    if len(grids):
        _plot_new_cases(ax, grids, report)
    gdf[gdf.level == ("city" if wide else "township")].boundary.plot(ax=ax, color="#3f007d", linewidth=0.8)
    ax.set_title(f"{report['title']}：新增案件分布（红框为热点网格）", fontsize=11)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _with_new_cases(grids: Any, report: dict[str, Any], wide: bool) -> Any:
    """The shapes with the report's new cases of each in column `new` (per county when wide)."""
    if wide:
        per_county = {t["code"]: t["new"] for t in report.get("by_township", [])}
        grids["new"] = grids.code.str[:6].map(per_county).fillna(0)
    else:
        grids["new"] = grids.code.map(report.get("by_grid", {})).fillna(0)
    return grids


def _plot_new_cases(ax: Any, grids: Any, report: dict[str, Any]) -> None:
    """The shapes coloured by new cases, with a legend bar, and the report's hot spots outlined in red."""
    grids.plot(
        ax=ax,
        column="new",
        cmap="OrRd",
        linewidth=0.1,
        edgecolor="#999999",
        legend=True,
        legend_kwds={"label": "本期新增案件（件）", "shrink": 0.6},
    )
    hot = grids[grids.code.isin(report.get("hotspots", {}).get("hot", []))]
    if len(hot):
        hot.boundary.plot(ax=ax, color="#b2182b", linewidth=0.9)


def _environment(template_dir: Path) -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(template_dir)), autoescape=select_autoescape(["html"]))
    env.filters["grid_code"] = format_code  # 620121001001001 -> 620121-001-001-001, as people write it
    env.filters["local_time"] = clock.show  # every time in the county's zone, and saying so
    return env


def report_html(session: Session, report: dict[str, Any], template_dir: Path, with_map: bool = True) -> str:
    """The report as a Chinese HTML page (the map embedded as a data: URI, so it prints offline)."""
    png = base64.b64encode(report_map_png(session, report)).decode() if with_map else None
    template = _environment(template_dir).get_template("reports/report.html")
    return template.render(
        r=report,
        area_name=area_name(session, report["area"]),
        map_png=png,
        referral_labels=vocabulary.zh(vocabulary.REFERRALS),
    )


def report_pdf(session: Session, report: dict[str, Any], template_dir: Path) -> bytes:
    """The report as a PDF (WeasyPrint over the HTML page)."""
    from weasyprint import HTML

    return HTML(string=report_html(session, report, template_dir)).write_pdf()
