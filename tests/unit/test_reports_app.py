"""The reports app answers "my warehouse is down" as every service answers for its database (common.errors'
503 with Retry-After), and connects to nothing when created. No servers: the warehouse is a closed port."""

from __future__ import annotations

from pathlib import Path

from etl_service.web import ReportsSettings, create_app
from infra.keys import ensure_keypair, sign_token
from tests.support.net import closed_port


def test_an_unreachable_warehouse_is_the_common_json_503(tmp_path: Path) -> None:
    private, public = ensure_keypair(tmp_path)
    settings = ReportsSettings(
        env="test",
        jwt_public_key=public.read_text(),
        warehouse_db_url=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/warehouse",
    )
    client = create_app(settings).test_client()
    admin = {"Authorization": f"Bearer {sign_token(private.read_bytes(), 1, 'admin')}"}
    for report in ("occupancy", "revenue"):
        response = client.get(f"/api/reports/{report}", headers=admin)
        assert response.status_code == 503
        assert response.get_json() == {"error": "Service unavailable"}
        assert response.headers["Retry-After"] == "1"
    ready = client.get("/ready")
    assert (ready.status_code, ready.get_json()["checks"]) == (503, {"warehouse": "down"})
