"""The suite's own load generator, mixed workload, reference servers and CPU accounting."""
