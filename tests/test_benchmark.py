"""The benchmark command (``make bench``, ``python -m experiments.benchmark``) runs end to end on
a tiny size and writes its JSON and figures. Nothing here is timed: speed is measured by the
benchmark itself, on a quiet machine, not asserted in tests."""

import json
import subprocess
import sys
from pathlib import Path

from experiments import benchmark

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"


def test_quick_benchmark_writes_json_and_figures(tmp_path):
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "agent-steps/s" in done.stdout and "Targets" in done.stdout

    results = json.loads((out / "benchmark.json").read_text())
    for key in ("steps", "ties", "memory", "oracle", "peer", "profile", "compare", "targets"):
        assert key in results, key
    sizes = [row["agents"] for row in results["steps"]]
    assert sizes == [300, 1000]
    for row in results["steps"]:
        for key in ("ties", "build_s", "run_s", "step_ms", "agent_steps_per_s", "peak_mib"):
            assert row[key] > 0, (key, row)
        assert row["weekly_rows"] == row["weeks"]  # one organisation row a week, any size
    assert len(results["ties"]) == 2
    assert results["ties"][0]["ties"] < results["ties"][1]["ties"]
    assert results["memory"]["build"]["mesa_agents"] == 1000

    oracle = results["oracle"][0]
    assert oracle["agents"] == 200 and oracle["sampled_weeks"] >= 1
    assert oracle["ratio_rules"] > 0 and oracle["ratio_full_step"] > 0
    assert oracle["agree_active"] >= 0.98  # the reference did the same work (up to rounding)

    peer = results["peer"][0]
    assert peer["agents"] == 300 and peer["ours_step_ms"] > 0 and peer["virus_step_ms"] > 0

    profile = results["profile"]
    assert profile["step_ms"] > 0 and profile["limit_ms"] > 0 and profile["step_over_limit"] > 0
    assert {"draws", "record", "neighbour sums (expose)"} <= set(profile["parts_ms"])
    assert (out / "profile.txt").read_text().startswith("pyinstrument")

    assert results["compare"]["seconds"] > 0 and results["compare"]["default"] is False
    targets = {t["target"]: t for t in results["targets"]}
    assert set(targets) == {
        "oracle_ratio_10k",
        "agent_steps_per_s_100k",
        "peak_mib_1m",
        "compare_s",
    }
    assert all(t["met"] is None for t in targets.values())  # tiny sizes measure no target

    for figure in ("scaling.png", "comparison.png"):
        assert (out / figure).read_bytes().startswith(PNG), figure
        (out / figure).unlink()
    benchmark.main(["--replot", str(out)])  # figures redrawn from the JSON alone
    for figure in ("scaling.png", "comparison.png"):
        assert (out / figure).read_bytes().startswith(PNG), figure
