"""Local stack launcher: real servers as processes, no Docker.

python -m infra.stack up [--no-services] | down | status
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from infra.keys import ensure_keypair, list_user_ids, sign_token
from infra.observability import fresh_metrics_dir, observability_servers
from infra.ports import Ports, ensure_free, port_in_use
from infra.procs import StartupError, alive, http_ready, read_pid, run, spawn, stop_pid, wait_or_fail
from infra.servers import Server, cluster_healthy, create_cluster
from infra.services import (
    REPO_ROOT,
    ServiceSpec,
    StackSecrets,
    available_services,
    base_env,
    create_admin_argv,
    etl_schedule_argv,
    migrate_argv,
    realtime_watchdog_argv,
    server_argv,
    service_env,
)
from infra.stack_servers import infrastructure, nginx_server

DEFAULT_ROOT = REPO_ROOT / ".run"
ETL_SCHEDULER = "etl_scheduler"
REALTIME_WATCHDOG = "realtime_watchdog"
BACKGROUND = (ETL_SCHEDULER, REALTIME_WATCHDOG)  # long-running processes without a port


class Stack:
    """One stack of real servers and service instances under `root`, on the ports of `ports`.

    `workers` per instance: 1 by default, since every service runs 2 instances on a 2-core machine; the
    mixed workload measured 1 x 8 against 2 x 8 per instance at 0.32 vs 0.29 of the Flask hello, each
    process's near copies hit twice as often and half as many processes contend for the cores.
    """

    def __init__(
        self,
        root: Path,
        ports: Ports,
        *,
        env_name: str = "development",
        workers: int = 1,
        threads: int = 8,
        observability: bool = False,
        scrape_interval: str = "15s",
    ) -> None:
        """`observability`: Prometheus, the Pushgateway and the exporters too (`make run`; test stacks
        that measure them), scraping every `scrape_interval`."""
        self.root, self.ports, self.env_name = root, ports, env_name
        self.observability, self.scrape_interval = observability, scrape_interval
        self.workers, self.threads = workers, threads
        self.logs, self.pids, self.data = root / "logs", root / "pids", root / "data"
        for directory in (self.logs, self.pids, self.data):
            directory.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        self.keys_dir = root / "keys"
        self.private_key, self.public_key = ensure_keypair(self.keys_dir)
        self.credentials = StackSecrets.remembered(root)
        self.photo_dir = root / "photos"  # listing photos: booking_service writes, nginx serves /photos/
        self.photo_dir.mkdir(mode=0o755, exist_ok=True)
        self.env = {
            **base_env(ports, self.keys_dir, env_name, self.credentials),
            "PHOTO_DIR": str(self.photo_dir),
        }
        self.services = available_services()
        self.servers = infrastructure(self.ports, self.data, self.credentials)
        (root / "stack.json").write_text(json.dumps({"ports": ports.named(), "env": env_name}, indent=1))

    def _nginx(self) -> Server:
        return nginx_server(self.root / "nginx", self.ports, self.photo_dir)

    # ---- public API ---------------------------------------------------------------------------
    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.nginx_http}"

    @property
    def socket_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.nginx_socket}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.observability['prometheus']}"

    @property
    def pushgateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.observability['pushgateway']}"

    @property
    def keys(self) -> dict[str, Path]:
        return {"private": self.private_key, "public": self.public_key}

    def url(self, name: str, instance: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports.services[name][instance]}"

    def token(self, user_id: int, role: str = "user", **claims: object) -> str:
        """A signed token for `user_id`, listed in the stack's user directory first."""
        self.list_users(user_id)
        return sign_token(self.private_key.read_bytes(), user_id, role, **claims)

    def list_users(self, *user_ids: int) -> None:
        list_user_ids(self.env["REDIS_URL"], *user_ids)

    def pid(self, name: str, instance: int | None = None) -> int | None:
        return read_pid(self.pids, name if instance is None else f"{name}-{instance}")

    def log_path(self, name: str, instance: int | None = None) -> Path:
        return self.logs / f"{name if instance is None else f'{name}-{instance}'}.log"

    def up(self, with_services: bool = True) -> dict[str, float]:
        """Start whatever is not running yet; on failure stop everything this call started."""
        timings: dict[str, float] = {}
        started = time.monotonic()
        try:
            self._check_ports()
            self._start_infrastructure()
            timings["infrastructure_s"] = time.monotonic() - started
            if with_services:
                self._start_services()
                timings["services_s"] = time.monotonic() - started - timings["infrastructure_s"]
                if self.observability:
                    self._start_observability()
        except BaseException:
            self.down()
            raise
        timings["total_s"] = time.monotonic() - started
        return timings

    def down(self) -> list[str]:
        """Stop every process of this stack; returns the names that were running."""
        names = [path.stem for path in self.pids.glob("*.pid")]
        running = [name for name in names if (pid := read_pid(self.pids, name)) and alive(pid)]
        services = [
            n for n in running if n.rsplit("-", 1)[0] in {s.name for s in self.services} | set(BACKGROUND)
        ]
        self._stop_all(services)
        ordered_rest = [n for n in running if n not in services]
        self._stop_all(ordered_rest)
        for name in names:
            (self.pids / f"{name}.pid").unlink(missing_ok=True)
        return running

    def status(self) -> dict[str, bool]:
        return {
            path.stem: bool((pid := read_pid(self.pids, path.stem)) and alive(pid))
            for path in sorted(self.pids.glob("*.pid"))
        }

    def kill(self, name: str, instance: int = 0) -> None:
        """SIGKILL one service instance with its workers (fault injection), like a crashed container."""
        pid = self.pid(name, instance)
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            stop_pid(pid, sig=signal.SIGKILL, timeout=2)

    def start(self, name: str, instance: int = 0) -> None:
        spec = next(s for s in self.services if s.name == name)
        self._start_instance(spec, instance)

    def stop_server(self, name: str) -> None:
        pid = self.pid(name)
        server = self.servers.get(name) or self._nginx()
        if pid:
            stop_pid(pid, sig=server.stop_signal, timeout=10)

    def kill_server(self, name: str) -> None:
        """SIGKILL one infrastructure server (fault injection); `start_server` brings it back."""
        pid = self.pid(name)
        if pid:
            stop_pid(pid, sig=9, timeout=5)

    def start_server(self, name: str) -> None:
        self._launch(self.servers.get(name) or self._nginx())

    # ---- internals ----------------------------------------------------------------------------
    def _running(self, name: str) -> bool:
        pid = read_pid(self.pids, name)
        return bool(pid and alive(pid))

    def _check_ports(self) -> None:
        """A stack with nothing running needs every port free; a partial one restarts only what is down."""
        if not any(self.status().values()):
            ensure_free(self.ports)

    def _launch(self, server: Server) -> None:
        if self._running(server.name):
            return
        server.prepare()
        env = {**os.environ, **server.env} if server.env else None
        spawn(server.name, server.argv, logs=self.logs, pids=self.pids, env=env, user=server.user, cwd="/")
        log = self.logs / f"{server.name}.log"
        wait_or_fail(lambda: self._running(server.name) and server.ready(), 60, server.name, log)
        server.after_start()

    def _start_infrastructure(self) -> None:
        first = [s for n, s in self.servers.items() if n != "postgres_replica"] + [self._nginx()]
        with ThreadPoolExecutor(max_workers=len(first)) as pool:
            list(pool.map(self._launch, first))
            cluster_ports = self.ports.cluster
            replica = pool.submit(self._launch, self.servers["postgres_replica"])
            password = self.credentials.redis_password
            create_cluster(cluster_ports, password)
            wait_or_fail(lambda: cluster_healthy(cluster_ports, password), 30, "redis cluster")
            replica.result()

    def _start_services(self) -> None:
        migrations = [migrate_argv(s.migrate_package) for s in self.services if s.migrate_package]
        migrations.append(migrate_argv("etl_service"))
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda argv: run(argv, env=self._env_for_cli(), cwd=REPO_ROOT), migrations))
            run(create_admin_argv(), env=self._env_for_cli("user_service"), cwd=REPO_ROOT)
            jobs = [(s, i) for s in self.services for i in range(len(self.ports.services[s.name]))]
            list(pool.map(lambda job: self._start_instance(*job), jobs))
        self._start_background()

    def _start_observability(self) -> None:
        servers = observability_servers(self.root, self.ports, self.credentials, self.scrape_interval)
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(self._launch, servers))

    def _start_background(self) -> None:
        """The long-running processes without a port: the ETL's cron loop (`ETL_SCHEDULE`, nightly by
        default) and the realtime watchdog (cuts a frozen realtime instance off; `ss -K` needs root)."""
        etl_env = self._env_for_cli("etl_service")
        if self.observability:
            etl_env["PUSHGATEWAY_URL"] = self.pushgateway_url
        argvs = {ETL_SCHEDULER: (etl_schedule_argv(), etl_env)}
        argvs[REALTIME_WATCHDOG] = (realtime_watchdog_argv(), self._env_for_cli(REALTIME_WATCHDOG))
        started = [name for name in BACKGROUND if not self._running(name)]
        for name in started:
            argv, env = argvs[name]
            spawn(name, argv, logs=self.logs, pids=self.pids, env={**env, "LOG_LEVEL": "INFO"}, cwd=REPO_ROOT)
        if started:  # no port to probe: ready once they have stayed up past start-up (bad settings exit)
            time.sleep(1.0)
        for name in started:
            wait_or_fail(lambda name=name: self._running(name), 1, name, self.logs / f"{name}.log")

    def _env_for_cli(self, service: str = "cli") -> dict[str, str]:
        env = {**os.environ, **self.env, "SERVICE_NAME": service, "LOG_LEVEL": "WARNING"}
        env["JWT_PRIVATE_KEY_FILE"] = str(self.private_key)
        return env

    def _start_instance(self, spec: ServiceSpec, instance: int) -> None:
        name = f"{spec.name}-{instance}"
        if self._running(name):
            return
        ports = self.ports.services[spec.name]
        port = ports[instance]
        if port_in_use(port):
            raise StartupError(f"port {port} is already in use (wanted by {spec.name} instance {instance})")
        env = {
            **os.environ,
            **service_env(
                spec, instance, port, self.env, self.keys_dir, self.workers, self.threads, len(ports)
            ),
            "PROMETHEUS_MULTIPROC_DIR": str(fresh_metrics_dir(self.root, name)),
        }
        spawn(name, server_argv(spec), logs=self.logs, pids=self.pids, env=env, cwd=REPO_ROOT)
        wait_or_fail(lambda: self._running(name) and http_ready(port), 60, name, self.logs / f"{name}.log")

    def _stop_all(self, names: list[str]) -> None:
        def stop(name: str) -> None:
            pid = read_pid(self.pids, name)
            server = self.servers.get(name)
            signal_ = server.stop_signal if server else (3 if name == "nginx" else 15)
            if pid:
                stop_pid(pid, sig=signal_, timeout=10)

        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            list(pool.map(stop, names))


if __name__ == "__main__":
    from infra.cli import main

    sys.exit(main())
