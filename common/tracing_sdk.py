"""What the OpenTelemetry SDK is given and what is read back from it: a TracerProvider whose root spans
take the trace id that `tracing.enter` sampled on, and the sampling rule of its sampler, applied by
`enter` without the sampler's per-call cost. Imported only when tracing is on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from common import tracing


class ChosenTraceIds(RandomIdGenerator):
    def generate_trace_id(self) -> int:
        return tracing.chosen_trace_id.get() or super().generate_trace_id()


def sdk_provider(resource: Any = None, sampler: Any = None) -> TracerProvider:
    """A TracerProvider (sampler from OTEL_TRACES_SAMPLER(_ARG) unless given) whose root spans take the
    trace id `enter` already sampled on."""
    return TracerProvider(resource=resource, sampler=sampler, id_generator=ChosenTraceIds())


def decision_rules(sampler: Any) -> tuple[bool, Callable[[int], bool]]:
    """(whether a parent's sampled flag decides, the decision at the root by trace id), the same as
    `sampler` takes them (tests/unit/test_tracing_sampling.py checks it), without its per-call cost."""
    parent_based = isinstance(sampler, sampling.ParentBased)
    root = sampler._root if parent_based else sampler
    if isinstance(root, sampling.TraceIdRatioBased):
        bound, limit = root.bound, root.TRACE_ID_LIMIT
        return parent_based, lambda trace_id: trace_id & limit < bound
    if isinstance(root, sampling.StaticSampler):
        always = root._decision is sampling.Decision.RECORD_AND_SAMPLE
        return parent_based, lambda _trace_id: always
    return parent_based, lambda trace_id: root.should_sample(None, trace_id, "request").decision.is_sampled()
