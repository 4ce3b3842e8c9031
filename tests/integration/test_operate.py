"""Operator commands (`make status`, `make logs`, `make etl`; issue #20 item 5) against the session's real
stack, and the local SMTP sink `make run` starts (a real aiosmtpd process receiving a real reset mail)."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import sqlalchemy as sa

from infra import operate
from infra.ports import port_in_use
from tests.support.etl import etl_settings


def test_status_lists_every_process_with_its_url_and_health(stack, capsys) -> None:
    assert operate.command_status(stack) == 0
    out = capsys.readouterr().out
    gateway = next(line for line in out.splitlines() if line.strip().startswith("gateway-0"))
    assert "running" in gateway and " ok " in gateway and stack.url("gateway", 0) in gateway
    reports = next(line for line in out.splitlines() if line.strip().startswith("etl_reports-0"))
    assert " ok " in reports
    assert f"postgresql://127.0.0.1:{stack.ports.warehouse}/warehouse" in out
    assert "processes running" in out


def test_logs_are_one_readable_line_per_entry(stack, capsys) -> None:
    entry = {
        "@timestamp": "2026-12-06T10:11:12.345Z", "log.level": "error", "message": "it broke",
        "service": {"name": "user_service"}, "http": {"request": {"id": "abcdef0123456789"}},
        "error": {"message": "ValueError: x"},
    }  # fmt: skip
    assert operate.human(json.dumps(entry)) == (
        "10:11:12.345 ERROR user_service     it broke  req=abcdef01\n      ValueError: x"
    )
    assert operate.human("plain text line\n") == "plain text line"
    assert operate.command_logs(stack, "gateway-0", 5) == 0
    out = capsys.readouterr().out
    assert "== logs/gateway-0.log ==" in out
    assert all(not line.startswith("{") for line in out.splitlines())


def test_etl_runs_against_the_stack_and_writes_the_report(stack, sources) -> None:
    sources.add_bookings([sources.add_property()], 3, seed=7)
    assert operate.command_etl(stack, full=False) == 0
    report = stack.root / "reports" / "occupancy_revenue.csv"
    assert report.exists() and report.read_text().startswith("property_id,property,month")


def test_report_of_an_empty_warehouse_says_so(stack, tmp_path) -> None:
    """A fresh database on the stack's warehouse server, migrated and empty."""
    settings = etl_settings(stack)
    admin = sa.create_engine(settings.warehouse_db_url, isolation_level="AUTOCOMMIT")
    name = f"empty_{int(time.time() * 1000)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = settings.warehouse_db_url.rsplit("/", 1)[0] + f"/{name}"
    env = {**stack.env, "WAREHOUSE_DB_URL": url, "LOG_LEVEL": "WARNING"}
    try:
        for args in (["migrate"], ["report", "--out", str(tmp_path)]):
            result = subprocess.run(
                [sys.executable, "-m", "etl_service", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
        assert "The warehouse holds no bookings yet" in result.stdout
        assert list(tmp_path.iterdir()) == []
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def test_mail_sink_stores_each_mail_as_an_eml_file(tmp_path) -> None:
    port = next(p for p in range(27400, 27500) if not port_in_use(p))
    sink = subprocess.Popen(
        [sys.executable, "-m", "infra.mailsink", "--port", str(port), "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "SMTP sink on" in sink.stdout.readline()
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Reset"
        message.set_content("link: http://127.0.0.1:8080/#/reset?token=x")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
            smtp.send_message(message)
        assert "mail to b@example.com: 'Reset'" in sink.stdout.readline()
        [stored] = list(tmp_path.glob("*.eml"))
        assert "#/reset?token=x" in stored.read_text()
    finally:
        sink.terminate()
        sink.wait(timeout=10)
