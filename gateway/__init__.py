"""API gateway: routes the public `/api/*` paths to healthy service instances found through discovery."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from common.health import health_blueprint
from common.logs import configure_logging
from common.metrics import init_observability
from common.proxies import TrustedProxyFix, parse_networks
from common.settings import split_csv
from common.tracing import init_tracing
from common.web import init_web
from gateway.breaker import BreakerBoard
from gateway.copies import AnswerCopies
from gateway.docs import docs_blueprint
from gateway.edge import init_cors, init_edge
from gateway.metrics import answer_copy_lookup, breaker_changed, observed_proxy
from gateway.proxy import ProxyApp
from gateway.settings import GatewaySettings
from gateway.upstream import UpstreamClient
from service_discovery import Registry, static_registry_from_urls

SERVICES = ("user_service", "booking_service", "etl_reports")
# The gateway is ready without the reports app: an outage there must not take the booking site down.
CORE_SERVICES = frozenset({"user_service", "booking_service"})


def create_app(config: GatewaySettings | None = None) -> Flask:
    settings = config or GatewaySettings()
    configure_logging(settings.service_name, settings.log_level)
    init_tracing(settings.service_name)
    app = Flask(__name__)
    init_web(app, settings)
    init_observability(app)
    client = UpstreamClient(
        build_registry(settings),
        BreakerBoard(settings.breaker_failure_threshold, settings.breaker_reset_timeout, breaker_changed),
        connect_timeout=settings.upstream_connect_timeout,
        read_timeout=settings.upstream_read_timeout,
        read_deadline=settings.upstream_read_deadline,
        max_retries=settings.upstream_max_retries,
        pool_size=settings.upstream_pool_size,
        hedge_after=settings.upstream_hedge_after or None,
    )
    app.extensions["upstream_client"] = client
    app.extensions["gateway_settings"] = settings
    init_cors(app, settings.allowed_origins)
    edge = init_edge(app, settings)
    checks = {name: _has_healthy_instance(client, name) for name in SERVICES}
    app.register_blueprint(health_blueprint(checks, required=CORE_SERVICES))
    app.register_blueprint(docs_blueprint)
    copies = AnswerCopies(settings.redis_url if settings.answer_copies else None, observe=answer_copy_lookup)
    app.wsgi_app = ProxyApp(  # type: ignore[method-assign]
        app.wsgi_app,
        edge,
        client,
        max_body_bytes=settings.max_body_bytes,
        origins=settings.allowed_origins,
        copies=copies,
    )
    app.wsgi_app = observed_proxy(app.wsgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxy_count > 0:
        app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, parse_networks(split_csv(settings.trusted_proxies)), settings.trusted_proxy_count
        )
    return app


def build_registry(settings: GatewaySettings) -> Registry:
    """Nothing is contacted here: the static checker starts on first use, Consul on first lookup."""
    if settings.discovery_backend == "consul":
        from service_discovery.consul import ConsulRegistry

        return ConsulRegistry(settings.consul_host, settings.consul_port)
    if settings.discovery_backend == "dns":  # Kubernetes: the URLs name headless Services
        from service_discovery.dns import dns_registry_from_urls

        return dns_registry_from_urls(
            settings.service_urls(),
            interval=settings.health_check_interval,
            timeout=settings.health_check_timeout,
        )
    return static_registry_from_urls(
        settings.service_urls(),
        interval=settings.health_check_interval,
        timeout=settings.health_check_timeout,
    )


def _has_healthy_instance(client: UpstreamClient, service: str) -> Callable[[], None]:
    def check() -> None:
        if not client.registry.healthy_instances(service):
            raise RuntimeError(f"no healthy {service} instance")

    return check
