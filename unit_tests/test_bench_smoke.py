"""Smoke test of the benchmark (bench/run.py --quick): it runs end to end in under a minute and
both our connector and the bare requests loop read every record of the emulator's dataset."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_quick(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # --no-official: the official connector's venv is optional and machine-local; keep the test fast.
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--no-official", "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout
    results = json.loads(out.read_text())
    rows = {(row["scenario"], row["impl"]): row for row in results["rows"]}
    checked = 0
    for scenario in {row["scenario"] for row in results["rows"] if row["expected"]}:
        for impl in ("ours", "bare"):
            row = rows.get((scenario, impl))
            assert row is not None, f"no {impl} row for scenario {scenario}"
            assert row["records"] == sum(row["expected"].values()), (scenario, impl, row["problems"])
            line = next((l for l in table.splitlines() if l.startswith(scenario) and re.search(rf"\s{impl}\b", l)), None)
            assert line is not None, f"the printed table has no {impl} row for {scenario}:\n{table}"
            assert f" {row['records']} " in f" {line} "
            checked += 1
    assert checked >= 6  # scenarios 1, 2 and 5, for ours and the bare loop
    assert {"1", "2", "3", "4", "5"} <= {row["scenario"].split()[0] for row in results["rows"]}
