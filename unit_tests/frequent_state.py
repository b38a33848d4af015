"""`source-sentry` with the CDK's per-partition state emitted at every partition close instead of at
most every 600 s: for tests that kill a sync and resume from its last STATE message only (the
product never relies on it). Usage: python unit_tests/frequent_state.py read --config ... """
import sys
import time

from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import ConcurrentPerPartitionCursor

ConcurrentPerPartitionCursor._throttle_state_message = lambda self: time.time()

from source_sentry.run import run  # noqa: E402

if __name__ == "__main__":
    run(sys.argv[1:])
