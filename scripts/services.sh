#!/usr/bin/env bash
# Make sure the services the full test suite talks to are up: PostgreSQL (127.0.0.1:5432) and
# Redis (127.0.0.1:6379), and Debian's Chromium + ChromeDriver for the browser tests.
# Starts or installs only what is missing and can be had here; the tests themselves decide
# (skip locally, fail when CI is set) if something is still missing.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! port_open 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
if ! port_open 6379 && command -v redis-server >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "services: installing Debian's chromium and chromium-driver for the browser tests" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        chromium chromium-driver; } >/dev/null 2>&1 ||
      echo "services: could not install chromium (browser tests will skip, or fail in CI)" >&2
  else
    echo "services: chromium/chromedriver missing and not installable here (need root + apt)" >&2
  fi
fi
for _ in $(seq 1 20); do port_open 5432 && port_open 6379 && break; sleep 0.5; done
exit 0
