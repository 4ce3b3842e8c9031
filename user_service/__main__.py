"""CLI: `python -m user_service migrate | create-admin --email E --password P [--username U] |
set-role --email E --role R`."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from common.errors import ApiError
from common.logs import configure_logging
from common.migrations import upgrade_to_head
from common.revocation import TokenVersions
from user_service import MIGRATIONS, password_hasher, user_database, validation
from user_service.directory import UserDirectory
from user_service.models import ROLES
from user_service.ports import DuplicateUserError
from user_service.repository import SqlUserRepository
from user_service.settings import UserSettings


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = UserSettings()
    configure_logging(settings.service_name, settings.log_level)
    try:
        return args.command(settings, args)
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except DuplicateUserError:
        print("error: that username belongs to another user", file=sys.stderr)
        return 2


def migrate(settings: UserSettings, _args: argparse.Namespace) -> int:
    upgrade_to_head(MIGRATIONS, settings.user_db_url)
    print("user_service: database migrated to head")
    return 0


def create_admin(settings: UserSettings, args: argparse.Namespace) -> int:
    email = validation.valid_email(args.email)
    password = validation.valid_password(args.password)
    username = validation.valid_username(args.username or default_username(email))
    db = user_database(settings)
    try:
        password_hash = password_hasher(settings).hash(password)
        user_id, created = SqlUserRepository(db).upsert_admin(username, email, password_hash)
    finally:
        db.dispose()
    UserDirectory(settings.redis_url).add(user_id)
    print(f"admin {email} (id {user_id}) {'created' if created else 'updated'}")
    return 0


def set_role(settings: UserSettings, args: argparse.Namespace) -> int:
    email = validation.valid_email(args.email)
    db = user_database(settings)
    try:
        users = SqlUserRepository(db)
        account = users.by_email(email)
        if account is not None:
            account = users.update(account.id, {"role": args.role}, end_sessions=True)
    finally:
        db.dispose()
    if account is None:
        print(f"error: no user with email {email}", file=sys.stderr)
        return 1
    TokenVersions(settings.redis_url).publish(account.id, account.token_version, settings.jwt_ttl_seconds)
    print(f"user {email} (id {account.id}) now has role {args.role}")
    return 0


def default_username(email: str) -> str:
    local = re.sub(r"[^A-Za-z0-9_.-]", "", email.split("@", 1)[0])[:32]
    return local if len(local) >= 3 else "admin"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m user_service")
    commands = root.add_subparsers(required=True)
    migrate_parser = commands.add_parser("migrate", help="apply Alembic migrations to USER_DB_URL")
    migrate_parser.set_defaults(command=migrate)
    admin = commands.add_parser("create-admin", help="create or update an admin (idempotent)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--username")
    admin.set_defaults(command=create_admin)
    role = commands.add_parser("set-role", help="change a user's role")
    role.add_argument("--email", required=True)
    role.add_argument("--role", required=True, choices=ROLES)
    role.set_defaults(command=set_role)
    return root


if __name__ == "__main__":
    sys.exit(main())
