"""Secrets for the dev-cluster overlay, made once into overlays/dev-cluster/generated/ (git-ignored).

Random passwords for every store, the connection URLs the services read (the same keys production's
`hrp-stores` Secret must hold), and an Ed25519 JWT key pair. Existing files are kept, so re-running does
not rotate what a running cluster uses.

    python -m deploy.k8s.secrets [DIR]
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from infra.keys import ensure_keypair

GENERATED = Path(__file__).parent / "overlays" / "dev-cluster" / "generated"
PASSWORDS = (
    "POSTGRES_PASSWORD",
    "REPLICATION_PASSWORD",
    "WAREHOUSE_PASSWORD",
    "MARIADB_ROOT_PASSWORD",
    "MARIADB_PASSWORD",
    "REDIS_PASSWORD",
    "REDIS_CLUSTER_PASSWORD",
)
CLUSTER_NODES = ",".join(f"redis-cluster-{i}.redis-cluster:6379" for i in range(6))


def store_urls(p: dict[str, str]) -> dict[str, str]:
    """The `hrp-stores` keys, pointing at the dev-cluster's in-cluster stores."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "USER_DB_URL": f"postgresql+psycopg://postgres:{p['POSTGRES_PASSWORD']}@postgres-primary:5432/users",
        "USER_DB_REPLICA_URLS": f"postgresql+psycopg://postgres:{p['POSTGRES_PASSWORD']}@postgres-replica:5432/users",
        "BOOKING_DB_URL": f"mysql+pymysql://app:{p['MARIADB_PASSWORD']}@mariadb:3306/bookings",
        "WAREHOUSE_DB_URL": f"postgresql+psycopg://postgres:{p['WAREHOUSE_PASSWORD']}@warehouse:5432/warehouse",
        "REDIS_URL": f"redis://:{p['REDIS_PASSWORD']}@redis:6379/0",
        "REDIS_CLUSTER_NODES": CLUSTER_NODES,
        "REDIS_CLUSTER_PASSWORD": p["REDIS_CLUSTER_PASSWORD"],
    }


def write_env(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)


def ensure_dev_secrets(directory: Path = GENERATED) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    passwords_file, stores_file = directory / "passwords.env", directory / "stores.env"
    if not (passwords_file.exists() and stores_file.exists()):
        passwords = {name: secrets.token_urlsafe(24) for name in PASSWORDS}
        write_env(passwords_file, passwords)
        write_env(stores_file, store_urls(passwords))
    ensure_keypair(directory)
    return directory


if __name__ == "__main__":
    print(
        f"dev-cluster secrets in {ensure_dev_secrets(Path(sys.argv[1]) if len(sys.argv) > 1 else GENERATED)}"
    )
