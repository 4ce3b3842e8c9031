"""Where the local stack runs each HTTP server (infra/services.py `cores_for`, infra/serve.py
`keep_to_cores`): instances share the cores out evenly, and a setting naming no usable core is ignored.
No servers; `keep_to_cores` changes this test process's own affinity and puts it back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.serve import keep_to_cores
from infra.services import SERVICES, cores_for, service_env


@pytest.mark.parametrize(
    ("instances", "cores", "placed"),
    [
        (1, [0, 1], [[]]),
        (2, [0], [[], []]),
        (2, [0, 1], [[0], [1]]),
        (3, [0, 1], [[0], [1], [0]]),
        (2, [0, 1, 2, 3], [[0, 2], [1, 3]]),
        (3, [0, 1, 2, 3], [[0, 3], [1], [2]]),
        (2, [4, 6], [[4], [6]]),
    ],
)
def test_instances_share_the_cores_out_evenly(instances: int, cores: list[int], placed: list) -> None:
    assert [cores_for(i, instances, cores) for i in range(instances)] == placed


def test_every_core_serves_some_instance_and_no_instance_is_left_without_one() -> None:
    for cores in ([0, 1], [0, 1, 2], [0, 1, 2, 3, 4, 5, 6, 7]):
        for instances in range(2, 10):
            placed = [cores_for(i, instances, cores) for i in range(instances)]
            assert all(placed), (cores, instances)
            assert {core for found in placed for core in found} == set(cores)


def test_only_granian_servers_of_several_instances_are_placed(tmp_path: Path) -> None:
    usable = sorted(os.sched_getaffinity(0))
    by_name = {spec.name: spec for spec in SERVICES}
    gateway_env = service_env(by_name["gateway"], 1, 20000, {}, tmp_path, 1, 8, instances=2)
    single_env = service_env(by_name["gateway"], 0, 20000, {}, tmp_path, 1, 8, instances=1)
    realtime_env = service_env(by_name["booking_realtime"], 1, 20000, {}, tmp_path, 1, 8, instances=2)
    assert "CPU_CORES" not in single_env
    assert "CPU_CORES" not in realtime_env  # gevent: one thread, nothing to keep together
    if len(usable) > 1:
        assert gateway_env["CPU_CORES"] == ",".join(map(str, cores_for(1, 2, usable)))
    else:
        assert "CPU_CORES" not in gateway_env


@pytest.fixture
def own_affinity() -> Iterator[set[int]]:
    before = os.sched_getaffinity(0)
    yield before
    os.sched_setaffinity(0, before)


def test_keep_to_cores_moves_the_process_to_the_named_usable_cores(own_affinity: set[int]) -> None:
    core = max(own_affinity)
    assert keep_to_cores(f"{core}") == {core}
    assert os.sched_getaffinity(0) == {core}


@pytest.mark.parametrize("setting", ["", " ", "x,y", "100000"])
def test_a_setting_naming_no_usable_core_changes_nothing(own_affinity: set[int], setting: str) -> None:
    assert keep_to_cores(setting) == own_affinity
    assert os.sched_getaffinity(0) == own_affinity
