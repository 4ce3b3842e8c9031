#!/bin/sh
# One-shot job: join the six redis-node-N containers into a cluster (3 masters, 3 replicas).
# Idempotent: exits 0 at once when the cluster already serves every slot (e.g. on `up` after `stop`).
# The nodes' password comes in REDISCLI_AUTH, which redis-cli reads itself (never `-a`: argv is public).
set -eu
: "${REDISCLI_AUTH:?REDISCLI_AUTH must hold the cluster nodes' password}"

nodes="${REDIS_CLUSTER_NODES:?REDIS_CLUSTER_NODES must list host:port of the six nodes}"
nodes=$(echo "$nodes" | tr ',' ' ')
first="${nodes%% *}"

cluster_ok() {
    redis-cli -h "${first%:*}" -p "${first##*:}" cluster info | grep -q '^cluster_state:ok'
}

if cluster_ok; then
    echo "redis cluster already created"
    exit 0
fi

# shellcheck disable=SC2086 # one argument per node
redis-cli --cluster create $nodes --cluster-replicas 1 --cluster-yes

attempt=0
until cluster_ok; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 30 ]; then
        echo "redis cluster did not reach cluster_state:ok" >&2
        exit 1
    fi
    sleep 1
done
echo "redis cluster created"
