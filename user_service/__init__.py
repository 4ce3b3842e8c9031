"""User service: registration, login (EdDSA JWTs), profile and user listing on PostgreSQL + replicas."""

from __future__ import annotations

from typing import Any

from flask import Flask

from common.auth import init_auth
from common.errors import register_database_outage
from common.health import health_blueprint
from common.logs import configure_logging
from common.metrics import init_observability
from common.near_cache import NearCache
from common.settings import ConfigurationError
from common.tracing import init_tracing
from common.web import init_web
from user_service import metrics
from user_service.accounts import AccountDeps
from user_service.api import init_login_metrics, register_domain_errors, users
from user_service.database import UserDatabase
from user_service.directory import RECONCILE_SECONDS, UserDirectory
from user_service.limiter import LoginLimiter
from user_service.mail import Mailer
from user_service.passwords import Passwords
from user_service.repository import PROFILE_CHANNEL, PROFILE_SETTLE_SECONDS, SqlUnitOfWork
from user_service.resets import ResetTokens
from user_service.services import UserDeps
from user_service.settings import UserSettings
from user_service.tokens import TokenSigner, ephemeral_private_key_pem, same_public_key

MIGRATIONS = "user_service:migrations"


def create_app(config: UserSettings | None = None) -> Flask:
    """Build the app; engines are created here but connect lazily, on the first request."""
    settings = config or UserSettings()
    configure_logging(settings.service_name, settings.log_level)
    init_tracing(settings.service_name)
    signer = token_signer(settings)
    db = user_database(settings)
    limiter = LoginLimiter(settings.redis_url, settings.login_limits)
    app = Flask(__name__)
    init_web(app, settings)
    init_observability(app)
    init_login_metrics(app)
    init_auth(app, signer.public_key_pem, settings.jwt_issuer, settings.redis_url)
    app.config["TRUSTED_PROXIES"] = settings.trusted_proxy_networks
    directory = UserDirectory(settings.redis_url)
    profiles: NearCache[dict[str, Any]] = NearCache(
        settings.redis_url if settings.profile_copy_seconds > 0 else None,
        channel=PROFILE_CHANNEL,
        max_age=settings.profile_copy_seconds,
        settle=PROFILE_SETTLE_SECONDS,
        observe=metrics.profile_copy_lookup,
    )
    deps = UserDeps(
        SqlUnitOfWork(db, profiles),
        password_hasher(settings),
        signer,
        limiter,
        app.extensions["token_versions"],
        directory=directory,
    )
    app.extensions["user_service"] = deps
    app.extensions["user_accounts"] = account_deps(settings, deps)
    app.before_request(db.start_request)
    # Started by the first request, in the worker process (create_app itself connects to nothing).
    app.before_request(lambda: directory.start_reconciler(deps.uow.users, RECONCILE_SECONDS))
    app.register_blueprint(users)
    register_domain_errors(app)
    checks = {"primary": db.ping_primary, "replica": db.ping_replicas, "redis": limiter.ping}
    app.register_blueprint(health_blueprint(checks, required=frozenset({"primary"})))
    register_database_outage(app)
    return app


def user_database(settings: UserSettings) -> UserDatabase:
    return UserDatabase(
        settings.user_db_url,
        settings.replica_urls,
        retry_seconds=settings.replica_retry_seconds,
        pool_size=settings.db_pool_size,
        statement_timeout=settings.db_statement_timeout,
    )


def account_deps(settings: UserSettings, deps: UserDeps) -> AccountDeps:
    mailer = Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    resets = ResetTokens(settings.secret_key, settings.password_reset_ttl_seconds)
    return AccountDeps(deps, mailer, resets, settings.public_url)


def password_hasher(settings: UserSettings) -> Passwords:
    return Passwords(
        settings.argon2_time_cost,
        settings.argon2_memory_kib,
        settings.argon2_parallelism,
        wait_seconds=settings.password_wait_seconds,
    )


def token_signer(settings: UserSettings) -> TokenSigner:
    """The signer; refuses a configured public key that does not match the private key."""
    pem = settings.private_key_pem
    if pem is None:  # UserSettings refuses ENV=production without a private key
        pem = ephemeral_private_key_pem()
    signer = TokenSigner(
        pem, issuer=settings.jwt_issuer, key_id=settings.jwt_key_id, ttl_seconds=settings.jwt_ttl_seconds
    )
    configured = settings.public_key_pem
    if configured and not same_public_key(configured, signer.public_key_pem):
        raise ConfigurationError("JWT public key does not match the JWT private key")
    return signer
