"""Renders nginx.conf from the one template, for the local stack and for docker-compose."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TEMPLATE = Path(__file__).parent / "nginx" / "nginx.conf.tmpl"
REPO_ROOT = Path(__file__).resolve().parent.parent
NGINX_WORKER_USER = "www-data"  # workers never run as root
COMPOSE_STATUS_PORT = (
    8081  # stub_status for the nginx exporter: exposed on the compose network, never published
)


def upstream_lines(addresses: Sequence[str], passive_checks: bool = True) -> str:
    suffix = " max_fails=1 fail_timeout=2s" if passive_checks else ""
    return "\n".join(f"        server {address}{suffix};" for address in addresses)


# What every location that proxies to the gateways repeats (nginx inherits neither `proxy_set_header`
# nor `error_page` into a location that sets any of its own).
API_PROXY = """\
            proxy_pass http://gateway;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Request-ID $req_id;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            add_header X-Request-ID $req_id always;
            recursive_error_pages on;  # reads reach @api_read through an error_page of their own
            error_page 413 @too_large;
            error_page 502 @bad_gateway;
            error_page 503 @unavailable;
            error_page 504 @timeout;"""


# What both Socket.IO locations (and their WebSocket handshake branch) repeat.
_SOCKET_HEADERS = """\
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Request-ID $req_id;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_connect_timeout 1s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;"""

# Long-polling and upgrades of a polling session (they carry its sid): sticky by ip_hash. The server
# speaks at least every ping interval (a long-poll is answered by then), so 5 s of silence is a frozen
# instance: the request fails over, nginx skips it for 2 s.
SOCKET_PROXY = f"""\
            error_page 418 = @socket_ws;
            if ($realtime_ws_handshake) {{ return 418; }}
            proxy_pass http://booking_realtime;
{_SOCKET_HEADERS}
            proxy_read_timeout 5s;"""

# WebSocket-only sessions. A frozen instance is cut off by the realtime watchdog, not by this timeout
# (booking_service/realtime/watchdog.py): 0.5 s after its heartbeat stops, every connection nginx holds to
# it is destroyed, so open tunnels end (the clients reconnect at once) and a handshake in flight there
# fails over to the next instance (`proxy_next_upstream error`), which marks it failed for fail_timeout.
# The read timeout bounds the handshake and the silence on an open tunnel only as a backstop (no
# watchdog, or a loop wedged while its heartbeat thread still ticks): 0.8 s here cut busy instances whose
# 0.5 s pings ran late, and their reconnecting clients made them busier still.
SOCKET_WS_READ_TIMEOUT = "5s"
SOCKET_WS_PROXY = f"""\
            proxy_pass http://booking_realtime_ws;
{_SOCKET_HEADERS}
            proxy_read_timeout {SOCKET_WS_READ_TIMEOUT};"""


def render(values: dict[str, str]) -> str:
    text = TEMPLATE.read_text().replace("{{API_PROXY}}", API_PROXY)
    text = text.replace("{{SOCKET_PROXY}}", SOCKET_PROXY).replace("{{SOCKET_WS_PROXY}}", SOCKET_WS_PROXY)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise ValueError("nginx template has unfilled placeholders")
    return text


def frontend_root() -> Path:
    built = REPO_ROOT / "frontend" / "dist"
    return built if (built / "index.html").exists() else REPO_ROOT / "frontend"


def render_local(
    prefix: Path,
    http_port: int,
    socket_port: int,
    gateways: Sequence[int],
    realtimes: Sequence[int],
    as_root: bool,
    status_port: int,
    photo_root: Path,
) -> str:
    return render(
        {
            "USER_DIRECTIVE": f"user {NGINX_WORKER_USER} {NGINX_WORKER_USER};" if as_root else "",
            "WORKER_PROCESSES": "2",
            "PID_FILE": str(prefix / "nginx.pid"),
            "ERROR_LOG": str(prefix / "logs" / "error.log"),
            "ACCESS_LOG": str(prefix / "logs" / "access.log"),
            "MIME_TYPES": "/etc/nginx/mime.types",
            "TEMP_DIR": str(prefix / "temp"),
            "GATEWAY_SERVERS": upstream_lines([f"127.0.0.1:{port}" for port in gateways]),
            "REALTIME_SERVERS": upstream_lines([f"127.0.0.1:{port}" for port in realtimes]),
            "HTTP_LISTEN": f"127.0.0.1:{http_port}",
            "SOCKET_LISTEN": f"127.0.0.1:{socket_port}",
            "STATUS_LISTEN": f"127.0.0.1:{status_port}",
            "FRONTEND_ROOT": str(frontend_root()),
            "PHOTO_ROOT": str(photo_root),
        }
    )


def render_compose() -> str:
    """The root nginx.conf used by docker-compose (services resolved by Docker's DNS)."""
    return render(
        {
            "USER_DIRECTIVE": "",
            "WORKER_PROCESSES": "auto",
            "PID_FILE": "/tmp/nginx.pid",
            "ERROR_LOG": "/dev/stderr",
            "ACCESS_LOG": "/dev/stdout",
            "MIME_TYPES": "/etc/nginx/mime.types",
            "TEMP_DIR": "/tmp",
            "GATEWAY_SERVERS": upstream_lines(["gateway:8000"]),
            "REALTIME_SERVERS": upstream_lines(["booking_realtime:8000"]),
            "HTTP_LISTEN": "8080",
            "SOCKET_LISTEN": "5001",
            "STATUS_LISTEN": str(COMPOSE_STATUS_PORT),
            "FRONTEND_ROOT": "/usr/share/nginx/html",
            "PHOTO_ROOT": "/srv/photos",
        }
    )


if __name__ == "__main__":
    (REPO_ROOT / "nginx.conf").write_text(render_compose())
    print("wrote nginx.conf")
