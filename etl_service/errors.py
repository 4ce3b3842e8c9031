"""Why an ETL run failed. The CLI turns each into a clear message and a non-zero exit code."""


class EtlError(RuntimeError):
    """The run failed; committed batches stay consistent with their watermark, so a rerun catches up."""


class SourceUnavailableError(EtlError):
    """A source database cannot be reached or queried."""


class RunInProgressError(EtlError):
    """Another run holds the warehouse lock."""
