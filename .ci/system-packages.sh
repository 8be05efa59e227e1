#!/usr/bin/env bash
# Ensure the system packages OneMap needs are present (used by `make run`, `make test`, .ci/run).
#   usage: system-packages.sh run|test
# Installs missing ones with apt-get when running as root on Debian/Ubuntu; otherwise prints one
# line saying what to install and fails.
set -euo pipefail
mode=${1:-run}

missing=()
have_postgis() {
    local bin
    for bin in /usr/lib/postgresql/*/bin; do
        [ -x "$bin/initdb" ] || continue
        ls "/usr/share/postgresql/$(basename "$(dirname "$bin")")"/extension/postgis*.control \
            >/dev/null 2>&1 && return 0
    done
    return 1
}
# An external DATABASE_URL means no local server is needed.
if [ -z "${DATABASE_URL:-}${ONEMAP_DATABASE_URL:-}" ] && ! have_postgis; then
    missing+=(postgresql postgresql-postgis)
fi
# pgRouting for road-network walking distances (coverage); without it OneMap measures straight
# lines. The package is per PostgreSQL major: detected from /usr/lib/postgresql/*, else the
# metapackage that follows the default major.
have_pgrouting() {
    ls /usr/share/postgresql/*/extension/pgrouting.control >/dev/null 2>&1
}
if [ -z "${DATABASE_URL:-}${ONEMAP_DATABASE_URL:-}" ] && ! have_pgrouting; then
    pg_major=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 \
        | sed -E 's#/usr/lib/postgresql/([^/]+)/bin#\1#')
    if [ -n "$pg_major" ]; then
        missing+=("postgresql-$pg_major-pgrouting")
    else
        missing+=(postgresql-pgrouting)
    fi
fi
# The MQTT broker of the live twin (an external one: ONEMAP_MQTT_URL).
if [ -z "${ONEMAP_MQTT_URL:-}" ] && ! command -v mosquitto >/dev/null 2>&1 \
        && [ ! -x /usr/sbin/mosquitto ]; then
    missing+=(mosquitto)
fi
# A CJK font for the Chinese labels of the assessment report's charts (English without one).
have_cjk_font() {
    local font
    for font in /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
            /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc \
            /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc; do
        [ -e "$font" ] && return 0
    done
    return 1
}
have_cjk_font || missing+=(fonts-wqy-microhei)
if [ "$mode" = test ]; then
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v ogr2ogr >/dev/null 2>&1 || missing+=(gdal-bin)  # GDAL's own tools judge our files
    # QGIS itself opens the .qgs project the export page offers (headless)
    /usr/bin/python3 -c 'import qgis.core' >/dev/null 2>&1 || missing+=(python3-qgis)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts the packaged cluster on 5432; OneMap runs its own, so leave it be.
    exit 0
fi
echo "OneMap needs system packages: sudo apt-get install ${missing[*]}  (or set DATABASE_URL)" >&2
exit 1
