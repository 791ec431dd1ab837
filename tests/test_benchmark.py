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
    for key in ("ensemble", "bass", "full", "ensemble_profile"):  # issue 13
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

    ensemble = results["ensemble"][0]  # single runs and an ensemble, side by side
    assert (ensemble["agents"], ensemble["weeks"], ensemble["runs"]) == (300, 8, 4)
    for key in ("model_s", "simulate_s", "ensemble_s", "ensemble_over_model"):
        assert ensemble[key] > 0, key
    assert set(ensemble["runs_per_cpu_s"]) == {"model", "simulate", "ensemble"}
    assert ensemble["ensemble_over_issue"] is None  # the issue's figure is for 1k × 260 weeks
    assert "Ensembles: runs per CPU-second" in done.stdout

    bass = results["bass"]  # the Bass validation run on a complete organisation (mean field)
    assert (bass["agents"], bass["weeks"]) == (300, 20) and bass["run_cpu_s"] > 0
    assert bass["peak_mib"] >= bass["import_mib"] > 0 and bass["speedup_over_issue"] is None
    assert 0 < bass["final_adopted_share"] <= 1
    assert set(bass["memory_growth_mib"]) == {"300", "3000"}  # JSON keys: 10 × the people

    full = results["full"]  # sim.simulate against virus_on_network, per agent-step
    assert full["agents"] == 300 and full["ours_ns_per_agent_step"] > 0 and full["ratio"] > 0

    ens_profile = results["ensemble_profile"]  # one ensemble step: parts, advance's, limit
    assert ens_profile["runs"] == 4 and ens_profile["rows"] == 1200
    assert ens_profile["step_over_limit"] > 0 and ens_profile["advance_parts_ms"]
    assert {"draws", "record", "levers"} <= set(ens_profile["parts_ms"])
    assert (out / "profile_ensemble.txt").read_text().startswith("pyinstrument")

    assert results["compare"]["seconds"] > 0 and results["compare"]["default"] is False
    targets = {t["target"]: t for t in results["targets"]}
    assert set(targets) == {
        "oracle_ratio_10k",
        "agent_steps_per_s_100k",
        "peak_mib_1m",
        "compare_s",
        "ensemble_over_issue_1k",
        "bass_speedup_5k",
        "full_10k_over_mesa",
        "compare_over_before",
    }
    assert all(t["met"] is None for t in targets.values())  # tiny sizes measure no target

    for figure in ("scaling.png", "comparison.png"):
        assert (out / figure).read_bytes().startswith(PNG), figure
        (out / figure).unlink()
    benchmark.main(["--replot", str(out)])  # figures redrawn from the JSON alone
    for figure in ("scaling.png", "comparison.png"):
        assert (out / figure).read_bytes().startswith(PNG), figure


def test_issue_13_targets_are_read_from_their_tables():
    """Each target of issue 13 is checked on the row it belongs to: the ensemble at 1k against
    the issue's 0.19 s, the Bass run at 5,000, the full run at 10k against Mesa's example."""
    results = {
        "ensemble": [
            {"agents": 1_000, "ensemble_over_issue": 6.0},
            {"agents": 10_000, "ensemble_over_issue": None},
        ],
        "bass": {"agents": 5_000, "speedup_over_issue": 40.0},
        "full": {"agents": 10_000, "ratio": 12.0},
    }
    targets = {t["target"]: t for t in benchmark.check_targets(results)}
    assert targets["ensemble_over_issue_1k"]["met"] is True
    assert targets["bass_speedup_5k"]["met"] is False
    assert targets["full_10k_over_mesa"]["met"] is True
    assert targets["full_10k_over_mesa"]["measured_cpu"] == 12.0  # measured in CPU time
    assert targets["compare_s"]["met"] is None  # not measured in these results
    assert targets["compare_over_before"]["met"] is None


def test_compare_against_another_checkout_is_a_target_of_issue_13():
    """The default compare timed beside another revision's (``--compare-against``): the ratio
    of wall times is checked against 3×, the ratio of CPU times reported beside it; a compare
    with overrides is not the default one and checks nothing."""
    row = {"default": True, "seconds": 10.0, "speedup": 2.0, "speedup_cpu": 2.5}
    targets = {t["target"]: t for t in benchmark.check_targets({"compare": row})}
    assert targets["compare_over_before"]["met"] is False
    assert targets["compare_over_before"]["measured_cpu"] == 2.5
    assert targets["compare_s"]["met"] is True
    row = {**row, "default": False, "speedup": 4.0}
    targets = {t["target"]: t for t in benchmark.check_targets({"compare": row})}
    assert targets["compare_over_before"]["met"] is None


def test_only_runs_the_parts_named():
    assert benchmark.parse_args(["--only", "full", "compare"]).only == ["full", "compare"]
    assert benchmark.parse_args([]).only is None
