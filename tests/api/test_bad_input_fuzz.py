"""Schemathesis generates valid and invalid requests from the app's OpenAPI schema against a live uvicorn
on loopback, authenticated, with a bounded example count: no server error, no 401 despite the token."""

import os
import time
from collections import Counter

from tests.api.bad_input_checks import bad_input_db  # noqa: F401 (fixture `db`)
from tests.apps import app_for
from tests.auth_helpers import bearer
from tests.browser import serve_app

EXAMPLES = int(os.environ.get("GRID_SCHEMATHESIS_EXAMPLES", "12"))


# Logging out and changing the password end the session the fuzzer's token names, by design.
ENDS_ITS_SESSION = frozenset({"/api/auth/logout", "/api/auth/password"})


def _fuzz(base, headers, mode, examples):
    """Run generated requests against every operation; return (calls, server errors)."""
    import hypothesis
    import hypothesis.errors
    import schemathesis
    from hypothesis import HealthCheck, Phase

    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    calls, errors, statuses = [0], [], Counter()
    settings = hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )

    def runner(op):
        @settings
        @hypothesis.given(op.as_strategy(generation_mode=mode))
        def run(case):
            resp = case.call(base_url=base, headers=headers, timeout=30)
            calls[0] += 1
            statuses[resp.status_code] += 1
            if resp.status_code == 401 and not op.path.startswith("/api/auth/"):
                errors.append(f"{op.method.upper()} {op.path} -> 401 despite the token")
            if resp.status_code >= 500:
                errors.append(f"{op.method.upper()} {op.path} -> {resp.status_code}: {resp.text[:300]}")

        return run

    for result in schema.get_all_operations():
        if result.ok().path in ENDS_ITS_SESSION:
            continue
        try:
            runner(result.ok())()
        except hypothesis.errors.Unsatisfiable:  # e.g. no invalid request exists for a parameterless GET
            continue
    return calls[0], errors, dict(sorted(statuses.items()))


def test_schemathesis_finds_no_server_errors(db, capsys):
    from schemathesis import GenerationMode

    app = app_for(db[0])
    headers = bearer(db[0], "dispatcher", "620121")
    started = time.monotonic()
    with serve_app(app) as base:
        summary = {mode.value: _fuzz(base, headers, mode, EXAMPLES) for mode in GenerationMode}
    seconds = time.monotonic() - started
    with capsys.disabled():
        print(  # noqa: T201
            "\nschemathesis: "
            + ", ".join(
                f"{m} {c} requests, {len(e)} server errors (statuses {st})"
                for m, (c, e, st) in summary.items()
            )
            + f" in {seconds:.0f} s"
        )
    errors = [e for _, (_, errs, _) in summary.items() for e in errs]
    assert not errors, "\n".join(errors[:20])
