"""The deployment files say what they must: compose with health checks and migrations."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_postgis_migrations_and_app() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    # PostGIS, with pgBackRest added for WAL archiving (docker/pgbackrest/Dockerfile)
    db_from = (ROOT / services["db"]["build"] / "Dockerfile").read_text()
    assert "\nFROM postgis/postgis:" in db_from
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


def test_compose_archives_wal_and_runs_scheduled_backups() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    db, backup = compose["services"]["db"], compose["services"]["backup"]
    conf = (ROOT / "docker" / "pgbackrest" / "pgbackrest.conf").read_text().splitlines()
    settings = dict(line.split("=", 1) for line in conf if "=" in line and line[0] != "#")
    stanzas = [line.strip("[]") for line in conf if line.startswith("[") and line != "[global]"]
    # every WAL segment goes to the stanza the backups are taken of
    for flag in ("wal_level=replica", "archive_mode=on"):
        assert flag in db["command"]
    assert f"archive_command=pgbackrest --stanza={stanzas[0]} archive-push %p" in db["command"]
    # both services see the same data directory, socket and repository
    mounts = {v.split(":")[1]: v.split(":")[0] for v in db["volumes"]}
    for volume in backup["volumes"]:
        name, path = volume.split(":")[:2]
        assert mounts[path] == name, volume
    assert mounts[settings["pg1-path"]] == "pgdata"
    assert mounts[settings["pg1-socket-path"]] == "pgrun"
    assert mounts[settings["repo1-path"]] == "pgbackrest"
    assert settings["pg1-user"] == db["environment"]["POSTGRES_USER"]
    assert backup["image"] == db["image"] and backup["user"] == "postgres"
    assert backup["depends_on"]["db"]["condition"] == "service_healthy"
    script = ROOT / "docker" / "pgbackrest" / "backup-schedule.sh"
    assert script.stat().st_mode & 0o111 and backup["command"] == ["shudi-backup-schedule"]
    text = script.read_text()
    assert "--type=full" in text and 'backup --type="$kind"' in text
