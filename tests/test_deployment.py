"""The deployment files say what they must: compose with health checks and migrations."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_postgis_migrations_and_app() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgis/postgis:")
    assert "healthcheck" in services["db"] and "pgdata" in compose["volumes"]
    assert any(v.startswith("pgdata:") for v in services["db"]["volumes"])
    assert "shudi db migrate" in " ".join(services["migrate"]["command"])
    app = services["app"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert "healthz" in " ".join(app["healthcheck"]["test"])
    assert "SHUDI_DATABASE_URL" in app["environment"]
    for flag in ("fsync=on", "synchronous_commit=on", "full_page_writes=on"):
        assert flag in services["db"]["command"]


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for pkg in ("shudi", "gis", "jurisdictions", "accounts", "incidents", "api", "webmap", "data"):
        assert f"COPY {pkg} ./{pkg}" in dockerfile
