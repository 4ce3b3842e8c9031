"""DnsRegistry: headless-Service discovery for Kubernetes, against real DNS answers and real /health servers.

Real: the registry code path, its health checker, the instances' HTTP servers (one per loopback address,
all on the same port as pods behind a headless Service are), a DNS server speaking the wire protocol on a
private port (dnslib), and glibc's resolver for `localhost`. Faked: what glibc does inside a pod — here the
registry's resolver is a dnslib client asking our server, because the system resolver cannot be pointed at
a private port without root changes to /etc/resolv.conf.
"""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from gateway import build_registry
from gateway.settings import GatewaySettings
from service_discovery import Instance
from service_discovery.dns import DnsRegistry, resolve_ipv4

ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


class Zone(BaseResolver):
    """A records by name; a name it does not hold is NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        for address in self.records.get(name, []):
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=1))
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def bindable_port(addresses: tuple[str, ...], kind: int = socket.SOCK_STREAM) -> int:
    for _ in range(200):
        port = random.randint(20000, 29999)
        try:
            for address in addresses:
                with socket.socket(socket.AF_INET, kind) as sock:
                    sock.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


@pytest.fixture
def zone() -> Iterator[tuple[Zone, int]]:
    resolver = Zone()
    port = bindable_port(("127.0.0.1",), socket.SOCK_DGRAM)
    server = DNSServer(resolver, port=port, address="127.0.0.1")
    server.start_thread()
    yield resolver, port
    server.stop()


@pytest.fixture
def pods() -> Iterator[int]:
    """`/health` servers on 127.0.0.2 and 127.0.0.3 (not .4: nothing listens there), one shared port."""
    app = Flask("pod")
    app.get("/health")(lambda: {"status": "ok"})
    port = bindable_port(ADDRESSES[:2])
    servers: list[BaseWSGIServer] = [make_server(a, port, app, threaded=True) for a in ADDRESSES[:2]]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    for server in servers:
        server.shutdown()


def dns_client(port: int):
    def resolve(host: str) -> list[str]:
        answer = DNSRecord.parse(DNSRecord.question(host).send("127.0.0.1", port, timeout=1.0))
        if answer.header.rcode != RCODE.NOERROR:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: {RCODE[answer.header.rcode]}")
        return sorted(str(rr.rdata) for rr in answer.rr if rr.rtype == QTYPE.A)

    return resolve


def check_round(registry: DnsRegistry) -> None:
    registry.check_all()


def test_each_record_of_a_headless_name_is_an_instance_and_changes_are_followed(zone, pods) -> None:
    records, dns_port = zone
    records.records["user-service.hrp.svc.cluster.local"] = list(ADDRESSES[:2])
    url = f"http://user-service.hrp.svc.cluster.local:{pods}"
    registry = DnsRegistry({"user_service": [url]}, resolver=dns_client(dns_port), resolve_interval=0)
    try:
        assert registry.healthy_instances("user_service") == [Instance(a, pods) for a in ADDRESSES[:2]]

        records.records["user-service.hrp.svc.cluster.local"] = [ADDRESSES[1], ADDRESSES[2]]  # a pod replaced
        check_round(registry)
        assert registry.known_instances("user_service") == [Instance(a, pods) for a in ADDRESSES[1:]]
        assert registry.healthy_instances("user_service") == [Instance(ADDRESSES[1], pods)], (
            "the new record's pod is not listening yet: known, not routed to"
        )
    finally:
        registry.close()


def test_a_failed_lookup_keeps_the_last_known_instances(zone, pods) -> None:
    records, dns_port = zone
    records.records["booking-service"] = [ADDRESSES[0]]
    registry = DnsRegistry(
        {"booking_service": [f"http://booking-service:{pods}"]},
        resolver=dns_client(dns_port),
        resolve_interval=0,
    )
    try:
        assert registry.healthy_instances("booking_service") == [Instance(ADDRESSES[0], pods)]
        del records.records["booking-service"]  # NXDOMAIN, as while CoreDNS restarts
        check_round(registry)
        assert registry.healthy_instances("booking_service") == [Instance(ADDRESSES[0], pods)]
    finally:
        registry.close()


def test_the_system_resolver_finds_every_address_of_a_name(pods) -> None:
    assert resolve_ipv4("localhost") == ["127.0.0.1"]
    with pytest.raises(OSError):
        resolve_ipv4("no-such-service.invalid")
    registry = DnsRegistry({"user_service": [f"http://127.0.0.2:{pods}"]}, resolve_interval=0)
    try:
        assert registry.healthy_instances("user_service") == [Instance("127.0.0.2", pods)]
    finally:
        registry.close()


def test_registration_is_left_to_kubernetes(zone) -> None:
    records, dns_port = zone
    records.records["gw"] = []
    registry = DnsRegistry({"gateway": ["http://gw:8000"]}, resolver=dns_client(dns_port), resolve_interval=0)
    registry.register("gateway", Instance("127.0.0.9", 8000))
    check_round(registry)
    assert registry.known_instances("gateway") == []


def test_the_gateway_uses_dns_discovery_when_configured() -> None:
    settings = GatewaySettings(
        discovery_backend="dns",
        user_service_urls="http://user-service:8000",
        booking_service_urls="http://booking-service:8000",
    )
    registry = build_registry(settings)
    assert isinstance(registry, DnsRegistry)
    assert not isinstance(build_registry(GatewaySettings(discovery_backend="static")), DnsRegistry)
