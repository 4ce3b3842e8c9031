"""The README's configuration table documents every setting each service reads from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from booking_service.realtime.settings import RealtimeSettings
from booking_service.settings import BookingSettings
from etl_service.settings import EtlSettings
from gateway.settings import GatewaySettings
from user_service.settings import UserSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize(
    "settings", [GatewaySettings, UserSettings, BookingSettings, RealtimeSettings, EtlSettings]
)
def test_every_setting_is_in_the_readme_table(settings: type[BaseSettings]) -> None:
    undocumented = [name.upper() for name in settings.model_fields if f"`{name.upper()}`" not in README]
    assert undocumented == []
