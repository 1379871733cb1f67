"""Cheap checks of the operator files: docker compose, Dockerfile, CI entry point, README, bootstrap.

Docker cannot run here, so these read the files instead; no database is needed.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_has_db_and_app_services(compose):
    assert {"db", "app"} <= set(compose["services"])


def test_compose_db_is_postgis_with_pg_isready_healthcheck(compose):
    db = compose["services"]["db"]
    assert db["image"].startswith("postgis/postgis:15-3")
    test = db["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in db["volumes"])


def test_compose_secrets_are_required_not_defaulted(compose):
    password = compose["services"]["db"]["environment"]["POSTGRES_PASSWORD"]
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", password)
    app = compose["services"]["app"]["environment"]
    assert "${POSTGRES_PASSWORD:?" in app["GRID_DB_OWNER_URL"]
    assert "${GRID_DB_APP_PASSWORD:?" in app["DATABASE_URL"]
    assert "GRID_AUTH_SECRET" not in app  # generated at first start, kept in the app's volume
    assert any(
        str(v).endswith(":" + app["GRID_AUTH_STATE_DIR"]) for v in compose["services"]["app"]["volumes"]
    )


def test_compose_app_logs_in_as_its_own_role_not_the_owner(compose):
    owner = compose["services"]["db"]["environment"]["POSTGRES_USER"]
    app = compose["services"]["app"]["environment"]
    login = re.match(r"postgresql://([^:@]+)", app["DATABASE_URL"]).group(1)
    assert login != owner and re.match(r"postgresql://([^:@]+)", app["GRID_DB_OWNER_URL"]).group(1) == owner


def test_compose_app_waits_for_healthy_db(compose):
    app = compose["services"]["app"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "build" in app
    assert re.match(r"postgresql://[^@]+@db:5432/", app["environment"]["DATABASE_URL"])
    assert re.match(r"postgresql://[^@]+@db:5432/", app["environment"]["GRID_DB_OWNER_URL"])


def test_compose_app_migrates_loads_demo_and_serves(compose):
    command = compose["services"]["app"]["command"]
    command = command if isinstance(command, str) else " ".join(command)
    steps = [command.index(s) for s in ("gridgov migrate", "gridgov demo --if-empty", "gridgov serve")]
    assert steps == sorted(steps)
    assert "--host 0.0.0.0" in command


def test_compose_publishes_port_on_loopback_only(compose):
    ports = [str(p) for p in compose["services"]["app"]["ports"]]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    assert "ports" not in compose["services"]["db"]


def test_dockerfile_builds_from_python_slim_and_installs_the_project():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.1[1-9]-slim", text, re.M)
    assert re.search(r"pip install .*-e \.|pip install \.", text)


def test_dockerignore_keeps_local_state_out():
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".pgdata", ".env", ".git"} <= set(lines)


def test_ci_is_strict_bash():
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text


@pytest.mark.parametrize(("first", "second"), [(0, 0), (1, 0), (0, 1), (5, 2)])
def test_ci_runs_make_test_then_the_shifted_pass_and_fails_if_either_fails(tmp_path, first, second):
    log = tmp_path / "make.log"
    make = tmp_path / "make"  # stands in for make: records its targets, exits as told
    make.write_text(
        '#!/bin/sh\necho "$*" >>"$LOG"\ncase "$1" in test) exit $FIRST ;; test-shifted) exit $SECOND ;; esac\nexit 99\n',
        encoding="utf-8",
    )
    make.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "LOG": str(log)}
    run = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")],
        env=env | {"FIRST": str(first), "SECOND": str(second)},
        check=False,
    )
    assert log.read_text(encoding="utf-8").splitlines() == ["test", "test-shifted"]
    assert (run.returncode == 0) == (first == second == 0)


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    demo, test = text.find("make demo"), text.find("make test")
    assert 0 <= demo < test
    assert demo < len(text) // 4, "the two commands belong near the top"


@pytest.mark.parametrize("target", ["demo", "test", "test-shifted", "serve", "db-stop", "clean"])
def test_makefile_targets_exist_and_call_bootstrap(target):
    out = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, "ARGS=-k nothing"], capture_output=True, text=True, check=True
    ).stdout
    assert "scripts/bootstrap.sh" in out


def test_make_test_passes_args_to_pytest():
    out = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "test", "ARGS=tests/ops -x"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "bootstrap.sh test tests/ops -x" in out


def test_make_test_shifted_passes_shift_and_args():
    out = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "test-shifted", "SHIFT=2031-12-31T23:59+08:00", "ARGS=tests/ops -x"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (
        "GRID_TEST_SHIFT='2031-12-31T23:59+08:00' bash scripts/bootstrap.sh test-shifted tests/ops -x" in out
    )
    assert "bootstrap.sh deps shifted" in out


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GRID_TEST_SHIFT": "not a date"}, "is not a date"),
        ({"GRID_TEST_DATABASE_URL": "postgresql://elsewhere/db"}, "unset GRID_TEST_DATABASE_URL"),
    ],
)
def test_bootstrap_shifted_pass_refuses_what_it_cannot_shift(env, message):
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap.sh"), "test-shifted"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "GRID_TEST_DATABASE_URL"} | env,
    )
    assert run.returncode == 1
    assert message in run.stderr


def test_bootstrap_treats_no_tests_collected_as_failure(tmp_path):
    probe = tmp_path / "test_nothing.py"
    probe.write_text("x = 1\n", encoding="utf-8")
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bootstrap.sh"), "test", str(probe), "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "no tests" in run.stderr


def _settings_classes() -> list[type]:
    """Every settings class of the packages (found by walking them, so a new one is covered at once)."""
    import importlib
    import pkgutil

    from pydantic_settings import BaseSettings

    found = {}
    for package in ("geo", "layers", "api"):
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=package + "."):
            if ".migrations" in info.name:
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseSettings)
                    and value.__module__ == info.name
                ):
                    found[value.__qualname__] = value
    return sorted(found.values(), key=lambda c: c.__name__)


def test_env_example_and_readme_document_every_setting():
    env = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD" in env and "DATABASE_URL" in env
    classes = _settings_classes()
    assert len(classes) >= 10
    undocumented = [
        cls.model_config["env_prefix"] + name.upper()
        for cls in classes
        for name in cls.model_fields
        if cls.model_config["env_prefix"] + name.upper() not in env
    ]
    assert undocumented == [], "settings missing from .env.example"
    assert [c.__name__ for c in classes if c.model_config["env_prefix"] not in readme] == []


def test_bootstrap_installs_what_the_suite_needs():
    text = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    for package in ("postgresql-$v-postgis-3", "gdal-bin", "chromium", "fonts-noto-cjk", "faketime"):
        assert package in text
    assert "apt-get update" in text and "DEBIAN_FRONTEND=noninteractive" in text


@pytest.mark.parametrize("script", ["scripts/bootstrap.sh", "scripts/pgcluster.sh", ".ci/run"])
def test_shell_scripts_parse(script):
    subprocess.run(["bash", "-n", str(ROOT / script)], check=True)
