"""No public secret, ever: tokens signed with any string written in the project are refused, and the app
refuses to start on a known, short or exposed secret, in every mode; it makes its own at first start."""

import ast
import os
import stat
import warnings
from pathlib import Path

import jwt
import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.main import create_app
from api.security import AuthSettings, secret_problem
from tests.apps import settings_for
from tests.security.conftest import account, bearer_of, client_from, login_as

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("api", "geo", "layers", "cli", "tests", "bench", "scripts")


def _python_literals() -> set[str]:
    found = set()
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return found


def _yaml_strings(node) -> set[str]:
    if isinstance(node, dict):
        return {str(k) for k in node} | {s for v in node.values() for s in _yaml_strings(v)}
    if isinstance(node, list):
        return {s for v in node for s in _yaml_strings(v)}
    return {str(node)}


def _config_values() -> set[str]:
    values = set()
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        key, _, value = line.lstrip("# ").partition("=")
        if value:
            values |= {value.strip(), value.split("#")[0].strip()}
    values |= _yaml_strings(yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8")))
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        values |= {w.strip("`'\"()") for w in line.split()}
    return values - {""}


def test_tokens_signed_with_any_string_of_the_project_are_refused(sec, sec_app):
    literals = (_python_literals() | _config_values()) - {""}  # PyJWT cannot sign with an empty key
    assert len(literals) > 3000
    name = account(sec, "auditor", "forge_target")
    with client_from(sec_app) as client:
        real = bearer_of(login_as(client, name))
        assert client.get("/api/auth/me", headers=real).status_code == 200
        claims = jwt.decode(real["Authorization"][7:], options={"verify_signature": False})
        accepted = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyJWT warns about short HMAC keys: that is the point
            for key in sorted(literals):
                forged = jwt.encode(claims, key.encode("utf-8", "surrogatepass"), algorithm="HS256")
                resp = client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
                if resp.status_code != 401:
                    accepted.append((key[:40], resp.status_code))
        assert accepted == []
        # and the live session itself, whose claims the forgeries carried, still works
        assert client.get("/api/auth/me", headers=real).status_code == 200


@pytest.mark.parametrize(
    "secret",
    [
        "dev-only-placeholder-secret-change-me-0000000000",  # the placeholder of old
        "change-me-to-48-random-characters-before-production",  # the old .env.example value
        "short-but-random-Xq7",
        "s" * 48,
        "abababababababababababababababababab",
        "my-example-secret-for-the-docs-Xq7Lm2Kp9Zr4",
    ],
)
def test_a_known_short_or_made_up_secret_is_refused_at_start(secret):
    assert secret_problem(secret)
    with pytest.raises(RuntimeError, match="GRID_AUTH_SECRET"):
        create_app(
            settings_for(
                "postgresql://unused@127.0.0.1/unused",
                auth=AuthSettings(_env_file=None, secret=SecretStr(secret)),
            )
        )


def _auth_in(folder: Path) -> AuthSettings:
    env = {k: v for k, v in os.environ.items() if k != "GRID_AUTH_SECRET"}
    previous = os.environ.pop("GRID_AUTH_SECRET", None)
    try:
        return AuthSettings(_env_file=None, state_dir=folder)
    finally:
        if previous is not None:
            os.environ["GRID_AUTH_SECRET"] = previous
        assert {k: v for k, v in os.environ.items() if k != "GRID_AUTH_SECRET"} == env


def test_without_a_secret_the_installation_makes_its_own_kept_private(tmp_path):
    auth = _auth_in(tmp_path / "state")
    first = auth.with_secret()
    path = tmp_path / "state" / "auth_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert secret_problem(first.signing_key) is None and first.secret_source == str(path)
    assert auth.with_secret().signing_key == first.signing_key  # kept: logins survive a restart
    assert _auth_in(tmp_path / "other").with_secret().signing_key != first.signing_key  # per installation


def test_a_secret_file_others_may_read_is_refused(tmp_path):
    auth = _auth_in(tmp_path)
    auth.with_secret()
    (tmp_path / "auth_secret").chmod(0o644)
    with pytest.raises(RuntimeError, match="chmod 600"):
        auth.with_secret()


def test_rotating_the_secret_ends_every_login(sec, tmp_path, monkeypatch):
    from cli.main import main

    monkeypatch.delenv("GRID_AUTH_SECRET", raising=False)
    monkeypatch.setenv("GRID_AUTH_STATE_DIR", str(tmp_path))
    name = account(sec, "auditor", "rotated")
    settings = settings_for(sec.url, auth=AuthSettings(_env_file=None, state_dir=tmp_path))
    with client_from(create_app(settings)) as client:
        headers = bearer_of(login_as(client, name))
        assert client.get("/api/auth/me", headers=headers).status_code == 200
    from api.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["secret", "rotate"]) == 0
    finally:
        get_settings.cache_clear()
    with TestClient(create_app(settings)) as client:  # the restarted server
        assert client.get("/api/auth/me", headers=headers).status_code == 401
