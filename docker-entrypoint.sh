#!/bin/sh
# Prestart step of the Docker image: before `amip serve`, wait for the database and migrate
# it (Alembic upgrade + idempotent reference seed). Workers start without migrating; in
# docker-compose.yml they wait until the gateway is healthy, i.e. migrated.
set -eu

if [ "${1:-}" = "amip" ] && [ "${2:-}" = "serve" ]; then
  tries=0
  until amip migrate; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      echo "docker-entrypoint: database still unreachable after $tries attempts" >&2
      exit 1
    fi
    echo "docker-entrypoint: waiting for the database ($tries)" >&2
    sleep 2
  done
fi

exec "$@"
