#!/bin/bash
# Dump one database named by a SQLAlchemy URL into BACKUP_DIR (the backup CronJobs; tests/integration/
# test_backup.py runs it against a real stack and restores the dumps with infra/backup.py).
#   backup.sh postgres URL_VAR    pg_dump --format=custom   -> BACKUP_DIR/<db>-<UTC stamp>.dump
#   backup.sh mariadb URL_VAR     mariadb-dump --single-transaction -> BACKUP_DIR/<db>-<UTC stamp>.sql.gz
# The password goes through PGPASSWORD / MYSQL_PWD, never argv. Dumps older than KEEP_DAYS are removed.
set -euo pipefail

kind="${1:?usage: backup.sh postgres|mariadb URL_VAR}"
url="${!2:?$2 must hold the database URL}"
dir="${BACKUP_DIR:?BACKUP_DIR must name the backup folder}"

rest="${url#*://}"
credentials="${rest%%@*}"
location="${rest#*@}"
user="${credentials%%:*}"
password="${credentials#*:}"
hostport="${location%%/*}"
database="${location#*/}"
database="${database%%\?*}"
host="${hostport%:*}"
port="${hostport##*:}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
umask 077
mkdir -p "$dir"

case "$kind" in
    postgres)
        out="$dir/$database-$stamp.dump"
        PGPASSWORD="$password" pg_dump --host "$host" --port "$port" --username "$user" \
            --format=custom --no-owner --file "$out.partial" "$database"
        ;;
    mariadb)
        out="$dir/$database-$stamp.sql.gz"
        MYSQL_PWD="$password" mariadb-dump --host "$host" --port "$port" --user "$user" \
            --single-transaction --routines --skip-ssl "$database" | gzip > "$out.partial"
        ;;
    *)
        echo "unknown kind: $kind" >&2
        exit 64
        ;;
esac
mv "$out.partial" "$out"
echo "wrote $out"
find "$dir" -name "$database-*" -type f -mtime +"${KEEP_DAYS:-14}" -delete
