#!/bin/sh
# One-shot job (compose service kibana-setup): our ingest pipeline and index template into
# Elasticsearch, then the data view, visualisations and dashboard into Kibana. Safe to re-run.
set -eu

ES="${ELASTICSEARCH_URL:-http://elasticsearch:9200}"
KIBANA="${KIBANA_URL:-http://kibana:5601}"
HERE="$(dirname "$0")"
RETRIES="${SETUP_RETRIES:-10}"

put_json() {
    curl --fail-with-body --silent --show-error --retry "$RETRIES" --retry-connrefused --retry-delay 3 \
        -X PUT "$ES/$1" -H "Content-Type: application/json" --data-binary "@$HERE/$2"
    echo
}

put_json _ingest/pipeline/hrp-logs ingest-pipeline.json
put_json _index_template/hrp-logs index-template.json

result=$(curl --fail-with-body --silent --show-error --retry "$RETRIES" --retry-connrefused --retry-delay 3 \
    -X POST "$KIBANA/api/saved_objects/_import?overwrite=true" \
    -H "kbn-xsrf: true" --form "file=@$HERE/kibana-saved-objects.ndjson")
echo "$result"
case "$result" in
    *'"success":true'*) echo "kibana saved objects imported" ;;
    *) echo "kibana saved objects import failed" >&2; exit 1 ;;
esac
