"""Entry point for the official connector (run with bench/.venvs/official/bin/python).

airbyte-cdk 6.x sends requests with ``Session.send()``, which never merges the environment, so
``REQUESTS_CA_BUNDLE`` is ignored and requests verifies against certifi's bundle only. This shim
makes ``certifi.where()`` return ``REQUESTS_CA_BUNDLE`` before requests is imported, then runs the
connector's own ``source_sentry.run:run`` unchanged (same as its ``source-sentry`` script).
"""
import os
import sys

bundle = os.environ.get("REQUESTS_CA_BUNDLE")
if bundle:
    import certifi

    certifi.where = lambda: bundle  # requests reads it once, at import

from source_sentry.run import run  # noqa: E402  (the official connector's entry point)

if __name__ == "__main__":
    sys.exit(run())
