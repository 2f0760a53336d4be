"""The layering of docs/design.md, held: `lint-imports` keeps the contracts of pyproject.toml
(the foundation imports no domain package; each package imports only the layers below it), and
the contracts are live — the same check on a copy of the tree with one import added from the
foundation to a domain package fails and names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the repository's contracts over the packages found in ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_import_contracts_hold() -> None:
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_an_import_from_the_foundation_into_a_domain_package_breaks_them(tmp_path: Path) -> None:
    for package in ROOT.iterdir():
        if (package / "__init__.py").exists() and package.name != "shudi":
            (tmp_path / package.name).symlink_to(package, target_is_directory=True)
    shutil.copytree(ROOT / "shudi", tmp_path / "shudi", ignore=shutil.ignore_patterns("migrations"))
    (tmp_path / "shudi" / "probe.py").write_text("from jurisdictions import service\n")
    r = lint(tmp_path)
    assert r.returncode == 1
    assert "shudi.probe -> jurisdictions.service" in r.stdout
    assert "The foundation (shudi) imports no domain package and not the shell BROKEN" in r.stdout
