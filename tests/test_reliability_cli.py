"""`python -m autoenc reliability --json`: the figures issue 7's contract names, from a short run."""
import json

import pytest

from tests.conftest import run_cli

CONTRACT = {"faults_tried": int, "faults_survived": int, "bad_inputs_tried": int, "bad_inputs_handled": int,
            "sessions": int, "session_errors": int, "runs_lost": int, "checkpoints_corrupt": int,
            "server_peak_rss_mb": float, "max_lost_seconds": float, "median_lost_seconds": float}


@pytest.mark.slow
def test_reliability_json_contract_on_a_short_run(home):
    # seed 3 puts the one kill 14 s into training (seed 0: 47 s), which keeps the suite short
    r = run_cli("reliability", "--json", "--faults", "1", "--sessions", "0", "--seed", "3", home=home, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    for key, kind in CONTRACT.items():
        assert isinstance(result[key], kind), (key, result[key])
    assert result["faults_tried"] == result["faults_survived"] == 1
    assert 0 <= result["median_lost_seconds"] <= result["max_lost_seconds"] == result["lost_seconds"][0]
    assert result["sessions_p95_switch_s"] is None             # no sessions were asked for
    assert result["bad_inputs_tried"] == result["bad_inputs_handled"] >= 50
    assert result["runs_lost"] == result["checkpoints_corrupt"] == 0 and result["failures"] == []
    assert "bad inputs: " in r.stderr          # progress goes to stderr, the JSON alone to stdout
    assert list(home.iterdir()) == [], "it works in a scratch folder, never in the user's run store"


def test_reliability_refuses_negative_counts(home):
    r = run_cli("reliability", "--faults", "-1", home=home)
    assert r.returncode == 2 and "--faults must not be negative" in r.stderr
    r = run_cli("reliability", "--browsers", "-2", home=home)
    assert r.returncode == 2 and "--browsers must not be negative" in r.stderr
