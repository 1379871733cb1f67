"""Audit rows: reads of personal data are noted by the database and written once, at commit."""

from sqlalchemy import text

from geo import audit


def _as_app(session, *, unmasked: bool) -> None:
    session.execute(
        text("SELECT set_config('gridgov.actor', 'reader', true), set_config('gridgov.area', '620121', true)")
    )
    session.execute(
        text("SELECT set_config('gridgov.unmasked', :u, true)"), {"u": "on" if unmasked else "off"}
    )
    session.execute(text("SET LOCAL ROLE gridgov_app"))


def _rows(session) -> list:
    return session.execute(
        text("SELECT action, detail FROM audit_log WHERE actor = 'reader' ORDER BY seq")
    ).all()


def test_an_unmasked_name_is_noted_and_written_without_waiting_for_the_disk_flush(db_session):
    db_session.execute(text("SET LOCAL synchronous_commit = on"))  # the test cluster runs with it off
    _as_app(db_session, unmasked=True)
    names = db_session.execute(text("SELECT gridgov_person_name(name) FROM workers LIMIT 3")).scalars().all()
    assert all("某" not in n and "*" not in n for n in names)
    db_session.execute(audit.AUDIT_PERSONAL_READ)  # what the commit of a cleared requester runs
    db_session.execute(text("RESET ROLE"))
    assert [(a, d["what"], d["area"]) for a, d in _rows(db_session)] == [("read_personal", "name", "620121")]
    # a transaction that wrote nothing else commits asynchronously (the row is all it changes)
    assert db_session.execute(text("SHOW synchronous_commit")).scalar_one() == "off"


def test_masked_reads_and_reads_of_nothing_personal_write_no_row(db_session):
    _as_app(db_session, unmasked=False)
    masked = db_session.execute(
        text("SELECT gridgov_person_name('张三丰'), gridgov_person_phone('13812345678')")
    ).one()
    assert tuple(masked) == ("张某某", "138****5678")
    db_session.execute(audit.AUDIT_PERSONAL_READ)
    db_session.execute(text("SELECT set_config('gridgov.unmasked', 'on', true)"))
    db_session.execute(text("SELECT gridgov_person_text('路灯不亮', NULL)"))  # nothing personal in it
    db_session.execute(audit.AUDIT_PERSONAL_READ)
    db_session.execute(text("RESET ROLE"))
    assert _rows(db_session) == []
