"""A local, deterministic Sentry REST API emulator for tests, demos and benchmarks.

``dataset`` builds the ground truth (``build_dataset``), ``server`` serves it (``SentryEmulator``).
README.md in this directory says where each piece lives and how to add an endpoint or a resource.
It is a test tool: not in the connector's wheel, used from the checkout.
"""
