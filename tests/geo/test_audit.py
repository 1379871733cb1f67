"""Audit rows of unmasked reads."""

from sqlalchemy import text

from geo.audit import record_read


def test_a_read_is_recorded_without_waiting_for_the_disk_flush(db_session):
    db_session.execute(text("SET LOCAL synchronous_commit = on"))  # the test cluster runs with it off
    record_read(db_session, "commander", table="parties", target=7, detail={"what": "parties", "ids": [1, 2]})
    row = db_session.execute(
        text("SELECT actor, action, target_table, target_id, detail FROM audit_log ORDER BY id DESC LIMIT 1")
    ).one()
    assert tuple(row) == ("commander", "read_unmasked", "parties", "7", {"what": "parties", "ids": [1, 2]})
    # only this transaction commits asynchronously; a reading request commits nothing else
    assert db_session.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
