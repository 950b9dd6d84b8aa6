"""`closeloop bench` runs its cases in child processes and reports against the targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_a_small_bench_run_reports_every_case(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapters.entrypoints.cli",
            "bench",
            "--scale",
            "0.01",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    cases = {row["case"] for row in rows}
    assert any(case.startswith("seed 100 accounts") for case in cases)
    assert any(case.startswith("import 10,000 usage rows") for case in cases)
    assert any(case.startswith("digest build from the day's snapshot") for case in cases)
    for row in rows:
        assert row["value"] > 0
    memory = [row for row in rows if row["metric"] == "peak memory"]
    assert all(row["unit"] == "MiB" and row["value"] < 1024 for row in memory)
    assert "Case" in result.stdout  # the table
