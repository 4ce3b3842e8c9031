"""Schemathesis against the gateway's OpenAPI document, through nginx, bounded to a fixed number of
examples per operation: no server error, no undocumented status code, no response (body or content type)
that violates the document. Real stack; nothing is mocked.

Two passes: every operation as a real host user, then the users operations as the real admin (the
admin pass is kept off property management, so the fuzzer cannot retire the seed properties other
tests book). Reports land in tests/output/security/.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import requests

from tests.security.conftest import Account

pytestmark = pytest.mark.slow
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "security"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES = 10
# Failures already routed to their owner, each proven by its own strict xfail test below.
KNOWN = {
    ("GET /api/users/allusers", "ST103"): "Received: 400",
}


def fuzz(stack, token: str, name: str, *filters: str) -> list[str]:
    """Run schemathesis; `operation: message` for each failure not in KNOWN."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    junit = OUTPUT / f"fuzz-{name}.xml"
    argv = [
        str(Path(sys.executable).with_name("st")), "run", f"{stack.nginx_url}/api/docs/openapi.json",
        "--url", stack.nginx_url, "-H", f"Authorization: Bearer {token}", "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES), "--phases", "examples,coverage,fuzzing", "--seed", "20261",
        "--generation-database", "none", "--request-timeout", "10", "--workers", "2", "--no-color",
        "--report", "junit", "--report-junit-path", str(junit), *filters,
    ]  # fmt: skip
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    (OUTPUT / f"fuzz-{name}.txt").write_text(run.stdout + run.stderr)
    assert junit.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    return unexpected_failures(junit)


def unexpected_failures(junit: Path) -> list[str]:
    failures = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for failure in [*case.findall("failure"), *case.findall("error")]:
            text, code = failure.text or "", failure.get("message", "")
            known = KNOWN.get((case.get("name", ""), code))
            if known is None or known not in text or _other_codes(text, code):
                failures.append(f"{case.get('name')}: {code}: {text[:600]}")
    return failures


def _other_codes(text: str, code: str) -> bool:
    """A known failure group that also holds a different failure kind is not the known one."""
    return any(
        f"- {other} " in text
        for other in ("ST100", "ST101", "ST102", "ST103", "ST104", "ST105")
        if other != code
    )


def test_fuzzing_every_operation_as_a_host_finds_nothing(sec_stack, new_account):
    user = new_account()
    assert fuzz(sec_stack, sec_stack.token(user.id, "host"), "host") == []


def test_fuzzing_the_users_operations_as_the_admin_finds_nothing(sec_stack, admin: Account):
    assert fuzz(sec_stack, admin.token, "admin", "--include-tag", "users") == []


def test_a_seed_property_matches_the_documented_property_schema(sec_stack):
    """Seed rows have no owner, description or guest count: the document must allow those nulls."""
    spec = requests.get(sec_stack.nginx_url + "/api/docs/openapi.json", timeout=10).json()
    schema = {**spec["components"]["schemas"]["Property"], "components": spec["components"]}
    response = requests.get(sec_stack.nginx_url + "/api/bookings/properties/1", timeout=10)
    assert response.status_code == 200
    jsonschema.validate(response.json(), schema)


@pytest.mark.xfail(
    strict=True,
    reason="gateway openapi.json: GET /api/users/allusers answers 400 for a bad limit/offset, the document "
    "does not list 400 — gateway owner",
)
def test_allusers_documents_its_400(sec_stack, admin: Account):
    spec = requests.get(sec_stack.nginx_url + "/api/docs/openapi.json", timeout=10).json()
    url = sec_stack.nginx_url + "/api/users/allusers?offset=-1"
    assert requests.get(url, headers=admin.auth, timeout=10).status_code == 400
    assert "400" in spec["paths"]["/api/users/allusers"]["get"]["responses"]
