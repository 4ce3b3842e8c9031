#!/bin/bash
# Entrypoint of the streaming replica: on an empty volume, clone the primary with pg_basebackup
# (-R writes standby.signal and primary_conninfo), then hand over to the image's own entrypoint,
# which sees an initialised data directory and just starts the server as a hot standby.
set -euo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
PRIMARY_HOST="${PRIMARY_HOST:?PRIMARY_HOST must name the primary}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    until pg_isready --host "$PRIMARY_HOST" --port "$PRIMARY_PORT" --quiet; do
        echo "waiting for $PRIMARY_HOST"
        sleep 1
    done
    PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup --host "$PRIMARY_HOST" --port "$PRIMARY_PORT" \
        --username replicator --pgdata "$PGDATA" --write-recovery-conf --wal-method stream \
        --checkpoint fast --progress
fi

exec docker-entrypoint.sh postgres -c hot_standby=on
