"""Front-end files of the map pages, served by the app: no page needs the internet.

Folium pages load Leaflet, jQuery, Bootstrap, Font Awesome, glyphicons, Leaflet.awesome-markers and
the plugins' scripts from CDNs. ``assets.json`` (the manifest) names, for each of those files, where
it comes from at set-up and which CDN URLs it replaces:

``npm``
    a file of an npm package tarball, fetched with ``npm pack NAME@VERSION``; the tarball's sha512
    must equal the manifest's ``integrity`` (the registry's ``dist.integrity``; npm checks it too);
``python``
    a file of the installed distribution of exactly that version (Folium's patched Leaflet.heat);
``repo``
    a file kept under ``webmap/`` (Folium's rotate CSS, which is not in Folium's wheel).

Each file's own sha256 is in the manifest as well. ``python -m webmap.assets fetch`` puts them in
:func:`vendor_dir` (``webmap/static/vendor/NAME@VERSION/...``, not in git) and writes a stamp with
the manifest's hash there, so a second run does nothing; ``python -m webmap.assets check`` verifies
what is on disk. The app serves the folder at ``/static/vendor``.

:func:`localize` rewrites a rendered Folium page to those local URLs and refuses a page that still
loads anything from another host (:func:`remote_urls` lists such URLs); configured tile URL
templates (:mod:`webmap.basemaps`) are the one allowed exception.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html as html_lib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = PACKAGE_DIR / "assets.json"
URL_PREFIX = "/static/vendor"
STAMP_NAME = ".complete"
SOURCES = ("npm", "python", "repo")


class AssetError(RuntimeError):
    """Fetching or checking the vendor files failed; the message is one line."""


class RemoteResourceError(ValueError):
    """A page would still load something from another host."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = list(urls)
        shown = ", ".join(self.urls[:5]) + (" ..." if len(self.urls) > 5 else "")
        super().__init__(f"page loads {len(self.urls)} remote URL(s) not served locally: {shown}")


@dataclass(frozen=True)
class AssetFile:
    src: str  # path in the tarball / distribution / webmap package
    dest: str  # path under the vendor folder
    sha256: str
    replaces: tuple[str, ...]


@dataclass(frozen=True)
class Package:
    source: str
    name: str
    version: str
    integrity: str | None
    files: tuple[AssetFile, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Manifest:
    packages: tuple[Package, ...]
    sha256: str  # of the manifest file's bytes: the stamp records it

    @property
    def files(self) -> list[AssetFile]:
        return [f for p in self.packages for f in p.files]


def vendor_dir() -> Path:
    """Where ``fetch`` puts the files: ``webmap/static/vendor``."""
    return PACKAGE_DIR / "static" / "vendor"


def _safe_relpath(path: str, what: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise AssetError(f"assets.json: unsafe path for {what}: {path!r}")
    return path


def load_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
        packages = []
        for p in data["packages"]:
            source, name, version = p["source"], p["name"], p["version"]
            if source not in SOURCES:
                raise AssetError(f"assets.json: {name}: unknown source {source!r}")
            integrity = p.get("integrity")
            if source == "npm" and not str(integrity).startswith("sha512-"):
                raise AssetError(
                    f"assets.json: {name}@{version}: npm packages need a sha512 integrity"
                )
            files = []
            for f in p["files"]:
                dest = _safe_relpath(f["to"], f"{name}@{version}")
                if not dest.startswith(f"{name}@{version}/"):
                    raise AssetError(f"assets.json: {dest!r} is not under {name}@{version}/")
                files.append(
                    AssetFile(
                        src=_safe_relpath(f["from"], f"{name}@{version}"),
                        dest=dest,
                        sha256=f["sha256"].lower(),
                        replaces=tuple(f.get("replaces", ())),
                    )
                )
            packages.append(Package(source, name, version, integrity, tuple(files)))
    except (KeyError, TypeError, ValueError) as e:
        raise AssetError(f"assets.json is malformed: {e!r}") from e
    return Manifest(tuple(packages), hashlib.sha256(raw).hexdigest())


@lru_cache(maxsize=1)
def _manifest() -> Manifest:
    return load_manifest()


# --- rewriting pages --------------------------------------------------------------------------


def url_map(prefix: str = URL_PREFIX) -> dict[str, str]:
    """CDN URL → local URL, for every file the manifest replaces."""
    prefix = prefix.rstrip("/")
    return {url: f"{prefix}/{f.dest}" for f in _manifest().files for url in f.replaces}


@lru_cache(maxsize=8)
def _url_pattern(prefix: str) -> tuple[re.Pattern[str], dict[str, str]]:
    mapping = url_map(prefix)
    alternatives = "|".join(re.escape(u) for u in sorted(mapping, key=len, reverse=True))
    # Whole URLs only: not when the URL text continues (``.../leaflet.js.map``, ``...?v=2``).
    return re.compile(f"(?:{alternatives})(?![\\w./?#%&=~+-])"), mapping


def localize(
    html: str, *, allow: Iterable[str] = (), prefix: str = URL_PREFIX, strict: bool = True
) -> str:
    """Point every CDN URL of a rendered Folium page at the vendored copy under ``prefix``.

    ``allow`` are URLs the page may keep (the basemap's tile URL templates). With ``strict`` (the
    default) a page that still loads anything remote raises :class:`RemoteResourceError`: a plugin
    whose files are not in ``assets.json`` is refused instead of silently needing the internet.
    """
    pattern, mapping = _url_pattern(prefix)
    out = pattern.sub(lambda m: mapping[m.group(0)], html)
    if strict:
        remaining = remote_urls(out, allow=allow)
        if remaining:
            raise RemoteResourceError(remaining)
    return out


_JS_ESCAPES = {
    "\\u0026": "&",
    "\\u003c": "<",
    "\\u003e": ">",
    "\\u0027": "'",
    "\\u0022": '"',
    '\\"': '"',
    "\\/": "/",
}
_JS_ESCAPE_RE = re.compile("|".join(re.escape(k) for k in _JS_ESCAPES), re.IGNORECASE)
# http(s) URLs, and protocol-relative ones where an attribute, string or url() starts with them.
_URL_RE = re.compile(r"""(?:https?://|(?<=["'(=])//(?=[A-Za-z0-9-]+\.))[^\s"'<>()\\`]+""")
_ANCHOR_HREF_RE = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*["']([^"']*)""", re.IGNORECASE)
# XML namespace names are identifiers, never loaded.
_NAMESPACES = ("http://www.w3.org/",)


def _unescape(text: str) -> str:
    """Undo the JSON/HTML escaping Folium applies (``tojson`` writes ``&`` as ``\\u0026``)."""
    return html_lib.unescape(_JS_ESCAPE_RE.sub(lambda m: _JS_ESCAPES[m.group(0).lower()], text))


#: Attributes whose value the browser loads (``href`` only on the elements below).
_LOADING_ATTRS = frozenset({"src", "srcset", "poster", "data", "background", "style", "xlink:href"})
_LOADING_HREF = frozenset({"link", "base", "image", "use", "feimage"})


class _Loads(HTMLParser):
    """Collects the parts of a page that can make the browser load something: loading
    attributes (as ``name="value"``), scripts other than JSON data blocks, and stylesheets.

    Text a person reads — where users' words are put, escaped — and attributes such as
    ``value`` or ``title`` are not loads, whatever URL they quote.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        self._code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name in _LOADING_ATTRS or (name == "href" and tag in _LOADING_HREF)):
                self.parts.append(f'{name}="{value}"')
        kind = (dict(attrs).get("type") or "").lower()
        self._code = tag == "style" or (tag == "script" and "json" not in kind)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._code = False

    def handle_endtag(self, tag: str) -> None:
        self._code = False

    def handle_data(self, data: str) -> None:
        if self._code:  # inside <script>/<style>: the parser hands the raw text over
            self.parts.append(data)


def _loading_text(html: str) -> str:
    parser = _Loads()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


def remote_urls(html: str, *, allow: Iterable[str] = ()) -> list[str]:
    """The http(s) URLs a page would load, except those in ``allow``, in order of appearance.

    Only what can load is looked at: scripts (not JSON data blocks), stylesheets and loading
    attributes (``src``, ``<link href>``, ``style`` …). Links a person may follow (``<a href>``,
    e.g. in a tile layer's attribution), XML namespace names and URLs in the page's text —
    such as a resident's description quoting a link — are not loads and are not listed.
    """
    text = _unescape(_loading_text(html))
    allowed = {_unescape(a) for a in allow}
    anchors = [m.span(1) for m in _ANCHOR_HREF_RE.finditer(text)]
    found: dict[str, None] = {}
    for m in _URL_RE.finditer(text):
        url = m.group(0)
        if url in allowed or url.startswith(_NAMESPACES):
            continue
        if any(start <= m.start() < end for start, end in anchors):
            continue
        found[url] = None
    return list(found)


# --- fetching and checking ---------------------------------------------------------------------


def _sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _read_stamp(dest: Path) -> dict[str, object]:
    try:
        stamp = json.loads((dest / STAMP_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def is_current(dest: Path | None = None, manifest: Manifest | None = None) -> bool:
    """The stamp matches the manifest and every file is there (no hashing: the quick test)."""
    dest = dest or vendor_dir()
    manifest = manifest or _manifest()
    if _read_stamp(dest).get("manifest_sha256") != manifest.sha256:
        return False
    return all((dest / f.dest).is_file() for f in manifest.files)


def _npm_error(stderr: str) -> str:
    lines = [
        re.sub(r"^npm (?:error|ERR!)\s*", "", line).strip()
        for line in stderr.splitlines()
        if line.startswith(("npm error", "npm ERR!"))
    ]
    lines = [line for line in lines if line and not line.startswith("A complete log")]
    return "; ".join(lines[:3]) or (stderr.strip().splitlines() or ["no output"])[-1]


def _npm_pack(npm: str, packages: Sequence[Package], workdir: Path) -> dict[str, Path]:
    """``npm pack`` every package in one run; returns spec → tarball, each one verified."""
    exe = shutil.which(npm)
    if exe is None:
        raise AssetError(
            f"{npm!r} not found on PATH: install Node.js and npm to fetch the map's vendor files"
        )
    env = dict(os.environ)
    env.update(
        npm_config_update_notifier="false", npm_config_fund="false", npm_config_audit="false"
    )
    # --prefer-offline: a tarball in npm's cache is used without asking the registry again (the
    # hashes below are checked all the same), so a re-fetch works offline once fetched.
    cmd = [exe, "pack", *(p.spec for p in packages), "--pack-destination", str(workdir)]
    cmd += ["--json", "--prefer-offline"]
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise AssetError("npm pack timed out after 600 s") from e
    if proc.returncode != 0:
        raise AssetError(f"npm pack failed (exit {proc.returncode}): {_npm_error(proc.stderr)}")
    try:
        reports = json.loads(proc.stdout)
        by_id = {f"{r['name']}@{r['version']}": workdir / r["filename"] for r in reports}
    except (ValueError, KeyError, TypeError) as e:
        raise AssetError(f"npm pack printed no usable JSON: {e!r}") from e
    tarballs = {}
    for p in packages:
        path = by_id.get(p.spec)
        if path is None or not path.is_file():
            raise AssetError(f"npm pack did not produce {p.spec}")
        got = _sri_sha512(path.read_bytes())
        if got != p.integrity:
            raise AssetError(
                f"{p.spec}: tarball sha512 mismatch (assets.json {p.integrity}, got {got})"
            )
        tarballs[p.spec] = path
    return tarballs


def _write(root: Path, f: AssetFile, data: bytes, origin: str) -> None:
    got = hashlib.sha256(data).hexdigest()
    if got != f.sha256:
        raise AssetError(
            f"{origin}: sha256 mismatch for {f.dest} (assets.json {f.sha256}, got {got})"
        )
    target = root / f.dest
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _from_tarball(root: Path, p: Package, tarball: Path) -> None:
    with tarfile.open(tarball, "r:gz") as tf:
        for f in p.files:
            try:
                member = tf.getmember(f.src)
            except KeyError:
                raise AssetError(f"{p.spec}: {f.src} is not in the tarball") from None
            extracted = tf.extractfile(member) if member.isfile() else None
            if extracted is None:
                raise AssetError(f"{p.spec}: {f.src} is not a regular file")
            _write(root, f, extracted.read(), p.spec)


def _from_distribution(root: Path, p: Package) -> None:
    try:
        dist = importlib.metadata.distribution(p.name)
    except importlib.metadata.PackageNotFoundError:
        raise AssetError(f"{p.spec}: the Python package {p.name} is not installed") from None
    if dist.version != p.version:
        raise AssetError(
            f"{p.spec}: installed {p.name} is {dist.version}, assets.json wants {p.version}"
        )
    for f in p.files:
        path = Path(str(dist.locate_file(f.src)))
        if not path.is_file():
            raise AssetError(f"{p.spec}: {f.src} is not in the installed distribution")
        _write(root, f, path.read_bytes(), p.spec)


def _from_repo(root: Path, p: Package) -> None:
    for f in p.files:
        path = PACKAGE_DIR / f.src
        if not path.is_file():
            raise AssetError(f"{p.spec}: webmap/{f.src} is missing")
        _write(root, f, path.read_bytes(), f"webmap/{f.src}")


def fetch(
    dest: Path | None = None,
    *,
    manifest: Manifest | None = None,
    npm: str = "npm",
    force: bool = False,
) -> bool:
    """Put the manifest's files into ``dest``; False when they were there already.

    The folder is built beside ``dest`` and swapped in whole, so an interrupted or failed fetch
    leaves the previous state (or nothing) rather than a half-filled folder.
    """
    dest = (dest or vendor_dir()).resolve()
    manifest = manifest or _manifest()
    if not force and is_current(dest, manifest):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-new-", dir=dest.parent))
    old: Path | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="shudi-npm-") as tmp:
            npm_packages = [p for p in manifest.packages if p.source == "npm"]
            tarballs = _npm_pack(npm, npm_packages, Path(tmp)) if npm_packages else {}
            for p in manifest.packages:
                if p.source == "npm":
                    _from_tarball(staging, p, tarballs[p.spec])
                elif p.source == "python":
                    _from_distribution(staging, p)
                else:
                    _from_repo(staging, p)
        stamp = {
            "manifest_sha256": manifest.sha256,
            "files": len(manifest.files),
            "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (staging / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n")
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}-old-", dir=dest.parent))
            dest.rename(old / dest.name)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return True


def check(dest: Path | None = None, manifest: Manifest | None = None) -> list[str]:
    """What is wrong with the files on disk (empty when every file is there with its hash)."""
    dest = dest or vendor_dir()
    manifest = manifest or _manifest()
    problems = []
    if _read_stamp(dest).get("manifest_sha256") != manifest.sha256:
        problems.append(f"{dest / STAMP_NAME}: missing or from another assets.json")
    for f in manifest.files:
        path = dest / f.dest
        if not path.is_file():
            problems.append(f"{f.dest}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != f.sha256:
            problems.append(f"{f.dest}: sha256 differs from assets.json")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m webmap.assets", description="Vendored front-end files of the map pages."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="fetch the files in assets.json (quick when done already)")
    f.add_argument("--dest", type=Path, default=None, help="folder (default webmap/static/vendor)")
    f.add_argument("--force", action="store_true", help="fetch even when the stamp is current")
    c = sub.add_parser("check", help="verify the files on disk against assets.json")
    c.add_argument("--dest", type=Path, default=None, help="folder (default webmap/static/vendor)")
    args = parser.parse_args(argv)
    dest = args.dest or vendor_dir()
    try:
        if args.command == "fetch":
            started = time.monotonic()
            if fetch(dest, force=args.force):
                took = time.monotonic() - started
                count = len(_manifest().files)
                print(f"webmap.assets: fetched {count} files into {dest} ({took:.1f} s)")
            else:
                print(f"webmap.assets: {dest} is up to date")
            return 0
        problems = check(dest)
    except (AssetError, OSError) as e:
        print(f"webmap.assets: error: {e}", file=sys.stderr)
        return 1
    if problems:
        for line in problems[:20]:
            print(f"webmap.assets: {line}", file=sys.stderr)
        hint = "run 'python -m webmap.assets fetch'"
        print(f"webmap.assets: error: {len(problems)} problem(s); {hint}", file=sys.stderr)
        return 1
    print(f"webmap.assets: {len(_manifest().files)} files OK in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
