#!/bin/sh
# Container entrypoint for every Python image: `entrypoint.sh MODE PACKAGE`.
#   web PACKAGE       migrate (when RUN_MIGRATIONS=1), then granian (infra/serve.py) registered in Consul while it lives
#   realtime PACKAGE  the Socket.IO process: one gevent worker (Flask-SocketIO needs sticky sessions)
#   schedule PACKAGE  migrate, then the ETL scheduler in the foreground
#   watchdog PACKAGE  the realtime watchdog (in nginx's network namespace, CAP_NET_ADMIN): cuts off frozen
#                     realtime instances
#   jwt-keys DIR      create the Ed25519 key pair in DIR once (a one-shot compose job)
set -eu

mode="${1:?usage: entrypoint.sh MODE PACKAGE}"
package="${2:?usage: entrypoint.sh MODE PACKAGE}"

migrate() {
    # Scaled replicas start together and race to migrate: the losers retry once the winner is done.
    attempt=1
    until python -m "$package" migrate; do
        if [ "$attempt" -ge "${MIGRATE_ATTEMPTS:-10}" ]; then
            echo "migrations of $package failed $attempt times" >&2
            exit 1
        fi
        attempt=$((attempt + 1))
        sleep 3
    done
}

container_ip() {
    python -c 'import socket; print(socket.gethostbyname(socket.gethostname()))'
}

case "$mode" in
    web)
        if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then migrate; fi
        address="${SERVICE_ADDRESS:-$(container_ip)}"
        exec python -m service_discovery run --service "${SERVICE_NAME:-$package}" \
            --address "$address" --port "${SERVICE_PORT:-8000}" \
            -- python -m infra.serve "$package"
        ;;
    realtime)
        exec gunicorn -c infra/gunicorn_conf.py --no-control-socket -k gevent -w 1 "$package.realtime:create_app()"
        ;;
    watchdog)
        exec python -m "$package.realtime.watchdog"
        ;;
    schedule)
        migrate
        exec python -m "$package" schedule
        ;;
    jwt-keys)
        exec python -c 'import sys; from pathlib import Path; from infra.keys import ensure_keypair; ensure_keypair(Path(sys.argv[1]))' "$package"
        ;;
    *)
        echo "unknown mode: $mode" >&2
        exit 64
        ;;
esac
