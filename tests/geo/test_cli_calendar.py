"""`gridgov calendar import|list` and the calendar sync of `gridgov migrate`, end to end through main(),
on a fresh database that really commits. The 2027 file is invented test data (tests/fixtures)."""

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from api.settings import get_settings
from cli.main import main
from geo import clock
from tests.geo.test_calendar import NOTICE_2027

# A case registered Wed 3 Feb 2027 (severity 3: five working days) whose deadline waits for 2027.
_CASE = """
INSERT INTO events (kind, category, severity, status, source, title, geom, reported_at, created_at,
                    deadline_at, deadline_basis, deadline_uncovered_years)
VALUES ('dispute', 'neighbour', 3, 'registered', 'patrol', 'cli', ST_SetSRID(ST_MakePoint(103.0, 36.0), 4326),
        '2027-02-03 10:00+08', '2027-02-03 10:00+08', '2027-02-10 17:30+08',
        '[{"step": "limit", "start": "2027-02-03T10:00:00+08:00", "amount": 5, "unit": "working_days"}]',
        '{2027}')
RETURNING id
"""


@pytest.fixture
def db(fresh_db_url, monkeypatch):
    """A fresh migrated database (the library years are in), with the CLI pointed at it."""
    monkeypatch.setenv("DATABASE_URL", fresh_db_url)
    monkeypatch.delenv("GRID_DB_URL", raising=False)
    get_settings.cache_clear()
    engine = create_engine(fresh_db_url)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_cli_calendar_import_then_list(db, capsys):
    with db.begin() as conn:
        case = conn.execute(text(_CASE)).scalar_one()
    assert main(["calendar", "import", str(NOTICE_2027)]) == 0
    out = capsys.readouterr().out
    assert "导入 2027 年节假日安排" in out and "重算 1 件案件" in out
    assert _scalar(db, "SELECT source FROM calendar_years WHERE year = 2027") == "notice"
    # Thu 4, Fri 5, Sat 13 (worked), Mon 15, Tue 16 Feb.
    deadline = _scalar(db, "SELECT deadline_at FROM events WHERE id = :id", id=case)
    assert deadline == datetime(2027, 2, 16, 17, 30, tzinfo=clock.zone())
    assert _scalar(db, "SELECT deadline_provisional FROM events WHERE id = :id", id=case) is False

    assert main(["calendar", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("2004  程序库") and "chinesecalendar 1.11.0" in lines[1]
    assert lines[-2].startswith("2027  通知文件") and "calendar-2027-TEST-DATA.csv" in lines[-2]


def test_cli_calendar_import_dry_run_writes_nothing(db, capsys):
    assert main(["calendar", "import", str(NOTICE_2027), "--dry-run"]) == 0
    assert "试运行：未写入任何数据" in capsys.readouterr().out
    assert _scalar(db, "SELECT count(*) FROM calendar_years WHERE year = 2027") == 0


def test_cli_calendar_import_bad_file_exits_1_naming_the_row(db, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,类型,名称\n2027-01-01,休,元旦\n2027-02-06,假,春节\n", encoding="utf-8")
    assert main(["calendar", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error [row 3, type]: 第 3 行：类型 '假' 无效")
    assert _scalar(db, "SELECT count(*) FROM holidays WHERE day >= '2027-01-01'") == 0
    assert main(["calendar", "import", str(tmp_path / "missing.csv")]) == 1


def test_cli_migrate_again_keeps_the_calendar(db, capsys):
    assert main(["calendar", "import", str(NOTICE_2027)]) == 0
    before = _scalar(db, "SELECT count(*) FROM holidays")
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.strip().endswith("schema is up to date")  # nothing left to sync
    assert _scalar(db, "SELECT count(*) FROM holidays") == before
    assert _scalar(db, "SELECT count(*) FROM calendar_years") == 24
