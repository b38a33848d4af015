"""A local, deterministic Sentry REST API emulator for tests, demos and benchmarks."""
