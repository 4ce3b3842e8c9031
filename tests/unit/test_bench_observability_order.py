"""The observability benchmark's order of measurements (no servers)."""

from __future__ import annotations

from bench.bench_observability import measurement_order

CONFIGS = {"off": {"METRICS_ENABLED": "false"}, "on": {"METRICS_ENABLED": "true"}}


def test_each_round_reverses_the_order_of_the_one_before() -> None:
    names = [name for name, _ in measurement_order(CONFIGS, 3)]
    assert names == ["off", "on", "on", "off", "off", "on"]


def test_every_configuration_is_measured_once_per_round_with_its_own_settings() -> None:
    order = measurement_order(CONFIGS, 4)
    assert sorted(name for name, _ in order) == ["off"] * 4 + ["on"] * 4
    assert all(env is CONFIGS[name] for name, env in order)
