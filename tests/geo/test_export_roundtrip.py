"""Exports read back by the importer: `gridgov import events` takes its own CSV and XLSX (timestamps with
their offset, to the second or finer; Chinese headers such as 经度/纬度), and the filters an export
takes (bbox, days, categories) are the SQL's."""

import openpyxl
import pytest
from sqlalchemy import text

from geo.errors import InvalidInputError
from geo.io import export_layer, import_events
from geo.io.export import ExportFilter, parse_filter

TOWNSHIP = "620121003"
JUNE = ExportFilter(
    since=parse_filter(since="2026-06-01").since, until=parse_filter(until="2026-06-30").until
)


def _count(session, sql, **params):
    return session.execute(text(sql), params).scalar_one()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_export_imports_back_as_the_same_cases(db_session, tmp_path, suffix):
    path = tmp_path / f"disputes{suffix}"
    exported = export_layer(db_session, "disputes", path, area=TOWNSHIP, flt=JUNE)
    expected = _count(
        db_session,
        "SELECT count(*) FROM events WHERE kind = 'dispute' AND grid_code LIKE :a "
        "AND reported_at >= '2026-06-01 00:00+08' AND reported_at < '2026-07-01 00:00+08'",
        a=TOWNSHIP + "%",
    )
    assert exported == expected > 0
    before = _count(db_session, "SELECT count(*) FROM events")
    report = import_events(db_session, path)
    assert (
        report.inserted == exported and _count(db_session, "SELECT count(*) FROM events") == before + exported
    )
    same = _count(  # every case back with its category, severity, status and report time, to the second
        db_session,
        "SELECT count(*) FROM events n WHERE n.id > (SELECT max(id) - :k FROM events) AND EXISTS ("
        "SELECT 1 FROM events o WHERE o.id <> n.id AND o.category = n.category AND o.severity = n.severity "
        "AND o.status = n.status AND date_trunc('second', o.reported_at) = n.reported_at)",
        k=exported,
    )
    assert same == exported


def test_the_xlsx_export_has_chinese_headers_and_times_with_their_offset(db_session, tmp_path):
    path = tmp_path / "d.xlsx"
    export_layer(db_session, "disputes", path, area=TOWNSHIP, flt=JUNE)
    rows = list(openpyxl.load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    head = rows[0]
    assert {"编号", "类别", "严重程度", "上报时间", "经度", "纬度"} <= set(head)
    assert rows[1][head.index("上报时间")].endswith("+08:00")


def test_chinese_headers_with_notes_and_fractional_seconds_import(db_session, tmp_path):
    point = db_session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grids "
            "WHERE level = 'grid' AND valid_to IS NULL ORDER BY code LIMIT 1) s"
        )
    ).one()
    path = tmp_path / "来电登记.csv"
    path.write_text(
        "经度（WGS84）,纬度（WGS84）,类别,严重程度,来源,上报时间\n"
        f"{point[0]},{point[1]},邻里纠纷,一般,热线,2026-11-01 09:30:00.123456+08:00\n",
        encoding="utf-8",
    )
    report = import_events(db_session, path)
    assert report.inserted == 1
    at = _count(
        db_session,
        "SELECT to_char(reported_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI:SS.US') FROM events ORDER BY id DESC LIMIT 1",
    )
    assert at == "09:30:00.123456"


def test_export_filters_by_bbox_and_category(db_session, tmp_path):
    bbox = (103.0, 36.6, 103.3, 36.9)
    flt = ExportFilter(bbox=bbox, categories=("neighbour", "land_forest"))
    n = export_layer(db_session, "disputes", tmp_path / "x.geojson", flt=flt)
    expected = _count(
        db_session,
        "SELECT count(*) FROM events WHERE kind = 'dispute' AND category IN ('neighbour', 'land_forest') "
        "AND ST_Intersects(geom, ST_MakeEnvelope(103.0, 36.6, 103.3, 36.9, 4326))",
    )
    assert n == expected > 0
    grids = export_layer(db_session, "grids", tmp_path / "g.csv", flt=ExportFilter(bbox=bbox))
    assert (
        0 < grids < _count(db_session, "SELECT count(*) FROM grids WHERE level = 'grid' AND valid_to IS NULL")
    )


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "103,37,102,36"}, "bbox"),
        ({"since": "2026-13-01"}, "from"),
        ({"since": "2026-06-02", "until": "2026-06-01"}, "from"),
        ({"category": "邻里"}, "category"),
    ],
)
def test_bad_export_filters_say_which(args, where):
    with pytest.raises(InvalidInputError) as err:
        parse_filter(**args)
    assert err.value.where == where
