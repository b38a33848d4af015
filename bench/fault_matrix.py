"""The fault matrix of unit_tests/fault_matrix.py, one cell at a time: requests and wall time.

    python bench/fault_matrix.py [--rows api_index,project_events,...] [--faults 500_sentry,...] [--json PATH] | grep '^|'

(The syncs' own log lines go to stdout too: grep keeps the table.)

Each cell runs alone (the tests put a read's faults on one request, try after try), so its wall time is its own:
the read or check with one fault on the endpoint, its retry included. Prints a markdown table,
one line per cell: the endpoint's requests (the faulted try included), every request of the
read, wall seconds, and the result (records equal to the ground truth, each once, no error).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "unit_tests"), str(REPO)]  # unit_tests' harness, not bench's

from fault_matrix import CHECK, ENDPOINTS, FAULTS, keys, matrix_dataset, run_case  # noqa: E402
from sentry_emulator.server import SentryEmulator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", help="endpoint rows, comma-separated (default: all)")
    parser.add_argument("--faults", help="fault columns, comma-separated (default: all)")
    parser.add_argument("--json", help="also write the cells to this file")
    args = parser.parse_args()
    rows = [e for e in ENDPOINTS if not args.rows or e.name in args.rows.split(",")]
    faults = [f for f in FAULTS if not args.faults or f.name in args.faults.split(",")]
    dataset = matrix_dataset()
    cells = []
    print("| endpoint | fault | endpoint requests | all requests | wall s | result |")
    print("|---|---|---:|---:|---:|---|")
    for endpoint in rows:
        for fault in faults:
            with SentryEmulator(dataset) as emulator:
                case = run_case(emulator, endpoint, [fault])
            if endpoint.streams == CHECK:
                ok = case.check_status == {"status": "SUCCEEDED"}
            else:
                ok = not case.errors and all(
                    keys(s, r) == keys(s, case.expected[s]) and max(keys(s, r).values()) == 1 for s, r in case.records.items()
                )
            cell = dict(endpoint=endpoint.name, fault=fault.name, endpoint_requests=len(case.endpoint_requests),
                        requests=len(case.requests), seconds=round(case.seconds, 2), ok=ok, fired=case.rules[0].fired)
            cells.append(cell)
            if endpoint.streams == CHECK:
                result = "check succeeded" if ok else f"FAILED: {case.check_status}"
            else:
                result = "exact records, once" if ok else "FAILED: " + "; ".join(case.errors)[:120]
            print(f"| {endpoint.name} | {fault.name} | {cell['endpoint_requests']} | {cell['requests']} | {cell['seconds']:.2f} | {result} |",
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(cells, indent=1))


if __name__ == "__main__":
    main()
