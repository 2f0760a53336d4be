"""The deployment files say what they must: compose with health checks and migrations."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_postgis_migrations_and_app() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgis/postgis:")
    assert "healthcheck" in services["db"] and "pgdata" in compose["volumes"]
    assert any(v.startswith("pgdata:") for v in services["db"]["volumes"])
    migrate = services["migrate"]
    assert "shudi db migrate" in " ".join(migrate["command"])
    app = services["app"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthz" in " ".join(app["healthcheck"]["test"])
    assert "SHUDI_DATABASE_URL" in app["environment"]
    # the key sealing personal data comes from the operator, never from the container
    assert "SHUDI_PII_KEYS" in app["environment"] and "SHUDI_PII_KEYS" in migrate["environment"]
    for flag in ("fsync=on", "synchronous_commit=on", "full_page_writes=on"):
        assert flag in services["db"]["command"]


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert len(packages) >= 10
    for pkg in (*packages, "data"):
        assert f"COPY {pkg} ./{pkg}" in dockerfile, pkg
    assert "fonts-wqy-zenhei" in dockerfile  # embedded in the PDF exports
