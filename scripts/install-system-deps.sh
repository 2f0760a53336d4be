#!/usr/bin/env bash
# Installs the Debian packages Shudi needs, only those missing: PostgreSQL (when absent) and
# PostGIS 3 for the newest installed PostgreSQL major version, pgBackRest (`shudi backup`). Quick
# when nothing is missing.
set -euo pipefail

pg_major() { ls /usr/lib/postgresql 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -n 1; }

apt_updated=0
apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-system-deps: missing Debian packages: $*; run as root or install them" >&2
    exit 1
  fi
  if [[ $apt_updated -eq 0 ]]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# A CJK font embedded in the PDF exports (meeting agendas and minutes, assessments).
if [[ ! -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]]; then
  apt_install fonts-wqy-zenhei
fi

if [[ -n "${SHUDI_DATABASE_URL:-}" && "${SHUDI_SKIP_EMBEDDED:-}" == 1 ]]; then
  exit 0
fi

ver=$(pg_major)
if [[ -z "$ver" || ! -x "/usr/lib/postgresql/$ver/bin/postgres" ]]; then
  echo "install-system-deps: installing PostgreSQL"
  apt_install postgresql
  ver=$(pg_major)
fi
if [[ ! -f "/usr/share/postgresql/$ver/extension/postgis.control" ]]; then
  echo "install-system-deps: installing PostGIS for PostgreSQL $ver"
  apt_install "postgresql-$ver-postgis-3"
fi
# Point-in-time backups of the embedded cluster (`shudi backup`/`restore`, docs/backups.md).
if ! command -v pgbackrest >/dev/null; then
  echo "install-system-deps: installing pgBackRest"
  apt_install pgbackrest
fi
# The TLS reverse proxy of docker-compose.yml, run by its test (tests/api/test_proxy.py).
if ! command -v caddy >/dev/null; then
  echo "install-system-deps: installing Caddy"
  apt_install caddy
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv
fi
