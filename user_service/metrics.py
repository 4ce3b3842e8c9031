"""The user service's metrics: logins by outcome, replica versus primary reads, replica fallbacks.
No Flask here (the database layer imports this module); the login hook is `api.init_login_metrics`."""

from __future__ import annotations

from prometheus_client import Counter

from common import metric_buffer
from common.multiproc import ensure_multiprocess_dir

LOGIN_RULE = "/api/users/login"
LOGIN_OUTCOMES = {200: "success", 400: "invalid_input", 401: "wrong_credentials", 429: "throttled"}

ensure_multiprocess_dir()
LOGINS = Counter("user_logins", "Login attempts by outcome.", ["outcome"])
READS = Counter(
    "user_db_reads", "Reads by the server that answered (replica, or primary).", ["target", "reason"]
)
REPLICA_FALLBACKS = Counter(
    "user_db_replica_fallbacks", "Reads meant for a replica that ran on the primary because none answered."
)
PROFILE_COPIES = Counter(
    "user_profile_copy_lookups",
    "Profile reads from this process's copies: outcome hit, miss or bypass (not subscribed, or off).",
    ["outcome"],
)
STATEMENTS_HELP = "SQL statements sent, by server (primary, replica0, ...)."


def statement_counter() -> Counter:
    """One per UserDatabase, in no registry: an in-process test sees its own database's counts, and in a
    served process (one database per worker) the multiprocess files are what `/metrics` reads."""
    return Counter("user_db_statements", STATEMENTS_HELP, ["server"], registry=None)


# Buffered (common/metric_buffer.py): one of these runs on every read.
read_on_replica = metric_buffer.adder(READS.labels("replica", "routed"))
read_after_write = metric_buffer.adder(READS.labels("primary", "after_write"))
read_on_primary_instead = metric_buffer.adder(READS.labels("primary", "fallback"))
read_without_replica = metric_buffer.adder(READS.labels("primary", "no_replica"))
_profile_copies = {o: metric_buffer.adder(PROFILE_COPIES.labels(o)) for o in ("hit", "miss", "bypass")}


def profile_copy_lookup(outcome: str) -> None:
    _profile_copies[outcome]()


def counts(counter: Counter) -> dict[str, int]:
    metric_buffer.flush()
    return {
        sample.labels["server"]: int(sample.value)
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
