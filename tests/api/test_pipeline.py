"""The pipelined read routes (geo.pipeline): account check, query and commit in one round trip.

On the demo county with the app's real pool: the HTTP answer equals the query run through a session,
cleared reads leave exactly one audit row (written by the same statement), masked ones none, a changed
account is refused before the query runs, and a connection the server dropped is replaced unnoticed.
"""

import asyncio

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.deps import CurrentUser, access_for, authorize
from api.main import create_app
from api.schemas import CandidatesPublic
from api.settings import ApiSettings
from geo.dispatch_settings import get_dispatch_settings
from geo.pipeline import compiled, make_pool, run_checked
from geo.privacy import mask_phone
from geo.queries.dispatch import candidates_query, list_candidates
from geo.settings import DbSettings
from tests.auth_helpers import ensure_user, token_for


@pytest.fixture(scope="module")
def client(demo_db_url):
    app = create_app(ApiSettings(_env_file=None), DbSettings(_env_file=None, url=demo_db_url))
    with TestClient(app) as c:
        yield c


def _headers(client, url: str, name: str, role: str, area: str = "620121") -> dict[str, str]:
    ensure_user(url, role, area, name=name)
    token = token_for(name, role, area, client.app.state.auth_settings)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def open_cases(engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id FROM events WHERE status NOT IN ('closed', 'rejected', 'duplicate') "
                    "AND kind IN ('dispute', 'hazard') ORDER BY id LIMIT 12"
                )
            ).scalars()
        )


def _audit_rows(engine, actor: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT action, target_table, target_id, detail FROM audit_log WHERE actor = :a ORDER BY id"
            ),
            {"a": actor},
        ).all()


def test_candidates_over_http_equal_the_query_through_a_session(client, demo_db_url, engine, open_cases):
    headers = _headers(client, demo_db_url, "pipe_commander", "commander")
    settings = get_dispatch_settings()
    with Session(engine) as session:
        for event_id in open_cases:
            authorize(session, access_for(CurrentUser("pipe_commander", "commander", "620121")))
            expected = list_candidates(
                session,
                event_id,
                area="620121",
                k=settings.default_candidates,
                max_age_s=settings.max_position_age_s,
                scope=settings.candidate_scope,
            )
            session.rollback()
            got = client.get(f"/api/events/{event_id}/candidates", headers=headers)
            assert got.status_code == 200, got.text
            body = got.json()
            assert [c["worker_id"] for c in body["candidates"]] == [
                c["worker_id"] for c in expected["candidates"]
            ]
            assert [c["reasons"] for c in body["candidates"]] == [
                c["reasons"] for c in expected["candidates"]
            ]
            assert body["grid_code"] == expected["grid_code"]
            assert len(body["mediation_committees"]) == len(expected["mediation_committees"])
    assert any(
        client.get(f"/api/events/{e}/candidates", headers=headers).json()["candidates"] for e in open_cases
    ), "no case had a candidate: the comparison above proved nothing"


def test_a_cleared_read_is_audited_once_by_the_same_statement(client, demo_db_url, engine, open_cases):
    headers = _headers(client, demo_db_url, "pipe_auditee", "dispatcher")
    before = len(_audit_rows(engine, "pipe_auditee"))
    body = client.get(f"/api/events/{open_cases[0]}/candidates?k=3", headers=headers).json()
    rows = _audit_rows(engine, "pipe_auditee")[before:]
    assert len(rows) == 1
    action, table, target, detail = rows[0]
    assert (action, table, target) == ("read_unmasked", "workers", str(open_cases[0]))
    assert detail == {
        "what": "candidates",
        "event_id": open_cases[0],
        "worker_ids": [c["worker_id"] for c in body["candidates"]],
    }
    assert all("*" not in (c["phone"] or "") for c in body["candidates"])


def test_a_masked_read_is_masked_and_not_audited(client, demo_db_url, engine, open_cases):
    headers = _headers(client, demo_db_url, "pipe_planner", "planner")
    body = client.get(f"/api/events/{open_cases[1]}/candidates", headers=headers).json()
    assert body["candidates"], body
    assert all("****" in c["phone"] for c in body["candidates"])
    assert _audit_rows(engine, "pipe_planner") == []


def test_a_disabled_account_is_refused_before_the_query_runs(client, demo_db_url, engine, open_cases):
    headers = _headers(client, demo_db_url, "pipe_leaver", "commander")
    assert client.get(f"/api/events/{open_cases[0]}/candidates", headers=headers).status_code == 200
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE name = 'pipe_leaver'"))
    before = len(_audit_rows(engine, "pipe_leaver"))
    got = client.get(f"/api/events/{open_cases[0]}/candidates", headers=headers)
    assert got.status_code == 401
    assert got.headers["content-type"].startswith("application/problem+json")
    assert "停用" in got.json()["detail"]
    assert len(_audit_rows(engine, "pipe_leaver")) == before  # the audited query never ran


def test_an_unknown_or_foreign_case_is_404(client, demo_db_url, engine, open_cases):
    headers = _headers(client, demo_db_url, "pipe_township", "dispatcher", area="620121001")
    with engine.connect() as conn:
        foreign = conn.execute(
            text("SELECT id FROM events WHERE grid_code NOT LIKE '620121001%' ORDER BY id LIMIT 1")
        ).scalar_one()
    for event_id in (foreign, 999_999_999):
        got = client.get(f"/api/events/{event_id}/candidates", headers=headers)
        assert got.status_code == 404, got.text
        assert got.json()["where"] == "event_id"
    assert _audit_rows(engine, "pipe_township") == []


def test_a_connection_the_server_dropped_is_replaced(client, demo_db_url, engine, open_cases):
    headers = _headers(client, demo_db_url, "pipe_restart", "commander")
    assert client.get(f"/api/events/{open_cases[2]}/candidates", headers=headers).status_code == 200
    with engine.begin() as conn:  # what a server restart does to the pool's idle connections
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle' "
                "AND application_name = ''"
            )
        ).scalar()
    assert killed >= 1
    for event_id in open_cases[:4]:
        got = client.get(f"/api/events/{event_id}/candidates", headers=headers)
        assert got.status_code == 200, got.text


@pytest.fixture(scope="module")
def open_dispute_with_mediators(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT e.id FROM events e JOIN departments d ON d.kind = 'mediation_committee' "
                "AND e.category = ANY(d.categories) AND d.county_code = left(e.grid_code, 6) "
                "JOIN mediators m ON m.department_id = d.id AND m.on_call "
                "WHERE e.kind = 'dispute' AND e.status NOT IN ('closed', 'rejected', 'duplicate') "
                "ORDER BY e.id LIMIT 1"
            )
        ).scalar_one()


@pytest.mark.parametrize("role", ["commander", "planner"])
def test_the_answer_postgres_writes_keeps_the_documented_shape(
    client, demo_db_url, open_cases, open_dispute_with_mediators, role
):
    # The route sends the statement's JSON as it is, so FastAPI no longer checks it against the
    # response model: this test does, for a cleared and a masked role, with committees and mediators.
    headers = _headers(client, demo_db_url, f"pipe_shape_{role}", role)
    for event_id in [*open_cases[:4], open_dispute_with_mediators]:
        got = client.get(f"/api/events/{event_id}/candidates", headers=headers)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "application/json"
        body = CandidatesPublic.model_validate_json(got.text)
        assert body.event_id == event_id
        for c in body.candidates:
            assert (
                c.reasons[-1] == f"距离约{c.distance_m:,.0f}米" or abs(c.distance_m % 1 - 0.5) < 1e-6
            )  # x.5 m: Python rounds half to even
            assert c.reasons[-2] == f"当前任务{c.open_tasks}件（容量{c.capacity}）"
            assert c.located_at is None or c.located_at.tzinfo is not None
    mediators = [m for cm in body.mediation_committees for m in cm.mediators]
    assert mediators, "the dispute has on-call mediators: the checks below would prove nothing"
    phones = [m.phone for m in mediators] + [c.phone for c in body.candidates]
    names = [m.name for m in mediators] + [c.name for c in body.candidates]
    if role == "planner":
        assert all(p == mask_phone(p) or "****" in p for p in phones)
        assert all(n[1:] in ("*", "某" * (len(n) - 1)) for n in names)
    else:
        assert not any("****" in p for p in phones)
        assert not any(n.endswith(("*", "某某")) for n in names)


def test_the_check_and_the_statements_are_one_transaction(demo_db_url, engine, open_cases):
    # The pool's connections autocommit; the pipeline's single Sync makes check and statements one
    # implicit transaction: the same transaction id, the check's settings seen by the statements,
    # and a failing last statement undoes the audit row an earlier one wrote.
    ensure_user(demo_db_url, "commander", "620121", name="pipe_atomic")
    access = access_for(CurrentUser("pipe_atomic", "commander", "620121"))
    same_tx = text(
        "SELECT txid_current()::text || ' ' || current_setting('gridgov.actor') || ' ' || current_user"
    )
    audited, params = candidates_query(
        open_cases[0], area="620121", k=3, max_age_s=10**9, audit_actor="pipe_atomic"
    )

    async def run():
        async with make_pool(DbSettings(_env_file=None, url=demo_db_url)) as pool:
            first, second = await run_checked(
                pool, access, [(compiled(same_tx), {}), (compiled(same_tx), {})]
            )
            assert first == second
            assert first[0].endswith(" pipe_atomic gridgov_app")
            with pytest.raises(psycopg.errors.DivisionByZero):
                await run_checked(
                    pool, access, [(compiled(audited), params), (compiled(text("SELECT 1/0")), {})]
                )
            await run_checked(pool, access, [(compiled(audited), params)])

    asyncio.run(run())
    assert len(_audit_rows(engine, "pipe_atomic")) == 1  # the second run's row, not the failed one's


def test_the_fast_route_answers_as_fastapi_would_and_leaves_it_the_rest(demo_db_url, open_cases, monkeypatch):
    # CandidatesFastRoute serves plain requests without FastAPI; FastAPI serves the same path when it
    # must decide (a k that is not plainly 1-50, an id that is not digits, overridden dependencies).
    from api.deps_dispatch import get_dispatch
    from api.routers import events

    served = []
    fast = events._serve_candidates

    async def counted(request):
        served.append(1)
        return await fast(request)

    monkeypatch.setattr(events, "_serve_candidates", counted)
    app = create_app(ApiSettings(_env_file=None), DbSettings(_env_file=None, url=demo_db_url))
    paths = [
        f"/api/events/{open_cases[3]}/candidates",
        f"/api/events/{open_cases[3]}/candidates?k=2&other=x",
        f"/api/events/{open_cases[4]}/candidates?k=9&k=50",
        "/api/events/999999999/candidates",
        f"/api/events/{open_cases[3]}/candidates?k=%35",  # "5", percent-encoded
    ]
    invalid = ["?k=0", "?k=51", "?k=abc", "?k=5&k=-1", "?k", "?k=", "?k=%C2%B2"]  # the last: "²"
    with TestClient(app) as fast_client:
        headers = _headers(fast_client, demo_db_url, "pipe_fast", "dispatcher")
        answers = [fast_client.get(p, headers=headers) for p in paths]
        assert len(served) == len(paths)
        assert fast_client.head(paths[0], headers=headers).status_code == 405  # as FastAPI's GET route
        unplain = [
            fast_client.get(f"/api/events/{open_cases[3]}/candidates{q}", headers=headers) for q in invalid
        ]
        assert len(served) == len(paths)  # FastAPI answered those
        app.dependency_overrides[get_dispatch] = get_dispatch_settings  # the same settings, via FastAPI
        declared = [fast_client.get(p, headers=headers) for p in paths]
        assert len(served) == len(paths)
        assert fast_client.get(paths[0]).status_code == 401
    assert [(a.status_code, a.headers["content-type"], a.json()) for a in answers] == [
        (d.status_code, d.headers["content-type"], d.json()) for d in declared
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 404, 200]
    assert len(answers[1].json()["candidates"]) == 2
    assert len(answers[2].json()["candidates"]) > 9  # the last k counts, as in FastAPI
    for resp, query in zip(unplain, invalid, strict=True):
        assert resp.status_code == 422, (query, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["detail"].startswith("k: ")
