"""A bad basemap setting stops the server at start-up, in one line, instead of failing every
map page with a 500."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.pages import BasemapSettingError, check_basemap
from shudi import settings

SHUDI = str(Path(sys.executable).with_name("shudi"))
UseEnv = Callable[[dict[str, str]], None]
BASEMAP_VARS = ("SHUDI_BASEMAP", "SHUDI_BASEMAP_URL", "SHUDI_BASEMAP_CRS", "SHUDI_TIANDITU_KEY")

BAD = [
    ({"SHUDI_BASEMAP": "tianditu"}, "SHUDI_TIANDITU_KEY"),
    ({"SHUDI_BASEMAP": "google"}, "unknown basemap 'google'"),
    ({"SHUDI_BASEMAP": "local"}, "SHUDI_BASEMAP_URL"),
    ({"SHUDI_BASEMAP": "local", "SHUDI_BASEMAP_URL": "ftp://tiles/{z}/{x}/{y}"}, "http(s)://"),
    (
        {
            "SHUDI_BASEMAP": "local",
            "SHUDI_BASEMAP_URL": "/t/{z}/{x}/{y}.png",
            "SHUDI_BASEMAP_CRS": "bd09",
        },
        "wgs84, cgcs2000 or gcj02",
    ),
    ({"SHUDI_BASEMAP": "osm", "SHUDI_BASEMAP_URL": "/t/{z}/{x}/{y}.png"}, "only used by the local"),
]


@pytest.fixture
def basemap_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[UseEnv]:
    """Set basemap variables for the process' settings; restored (and re-read) afterwards."""

    def use(env: dict[str, str]) -> None:
        for name in BASEMAP_VARS:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings.get_settings.cache_clear()

    yield use
    monkeypatch.undo()
    settings.get_settings.cache_clear()


@pytest.mark.parametrize(("env", "says"), BAD)
def test_bad_setting_is_named_in_one_line(
    basemap_env: UseEnv, env: dict[str, str], says: str
) -> None:
    basemap_env(env)
    with pytest.raises(BasemapSettingError, match="bad basemap setting") as caught:
        check_basemap()
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_good_settings_pass(basemap_env: UseEnv) -> None:
    basemap_env({})
    assert check_basemap().kind == "none"
    basemap_env({"SHUDI_BASEMAP": "tianditu", "SHUDI_TIANDITU_KEY": "k"})
    assert check_basemap().kind == "tianditu"
    basemap_env({"SHUDI_BASEMAP": "local", "SHUDI_BASEMAP_URL": "/t/{z}/{x}/{y}.png"})
    assert check_basemap().kind == "local"


def test_app_start_up_refuses(basemap_env: UseEnv) -> None:
    basemap_env({"SHUDI_BASEMAP": "tianditu"})
    with pytest.raises(BasemapSettingError, match="SHUDI_TIANDITU_KEY"), TestClient(create_app()):
        pass


def test_shudi_serve_refuses_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in BASEMAP_VARS}
    run = subprocess.run(
        [SHUDI, "serve", "--port", "9"],  # never bound: it stops before
        env=env | {"SHUDI_BASEMAP": "tianditu"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "shudi: error: refusing to serve: bad basemap setting: the tianditu basemap needs a key "
        "(SHUDI_TIANDITU_KEY)"
    ]
    assert "Uvicorn running" not in run.stdout + run.stderr
