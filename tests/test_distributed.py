"""One run trained by two processes under torchrun (gloo on CPU): every model follows the
loss curve of one process at the same global batch; rank 0 alone writes the run; a stop and
a resume reach every rank; bad settings are refused with a message."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from autoenc.registry import get_model
from autoenc.runs import launcher
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import RunStore
from tests.conftest import ROOT
from tests.distributed_curves import SETTINGS, curve
from tests.test_runs_process import wait_until

pytestmark = pytest.mark.slow
# The curves' thirds (mean over the steps of each) may differ by this share of the
# one-process curve's mean size: the processes draw other batches of the same data.
CURVE_TOLERANCE = 0.25


def torchrun(*args, home, timeout=300, background=False):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", *map(str, args)]
    env = {**os.environ, "AUTOENC_HOME": str(home), "OMP_NUM_THREADS": "1"}
    if background:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def compared(model: str, logged) -> list[str]:
    """The losses to compare: the total where a model logs one, else those its page charts."""
    charted = get_model(model).task_class().chart_metrics
    return ["loss"] if "loss" in logged else [k for k in charted if k in logged]


def thirds(values) -> np.ndarray:
    return np.array([part.mean() for part in np.array_split(np.asarray(values), 3)])


def test_two_processes_follow_the_one_process_loss_curve_for_every_model(tmp_path):
    out = tmp_path / "curves.json"
    r = torchrun("tests/distributed_curves.py", out, home=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    two = json.loads(out.read_text())
    torch.set_num_threads(1)
    assert set(two) == set(SETTINGS)
    for model in SETTINGS:
        one = curve(model)
        assert set(one) == set(two[model]), model
        for name in compared(model, one):
            a, b = np.asarray(one[name]), np.asarray(two[model][name])
            assert np.isfinite(b).all() and len(b) == len(a)
            gap = np.abs(thirds(a) - thirds(b)) / np.abs(a).mean()
            assert gap.max() <= CURVE_TOLERANCE, (model, name, gap.round(3), a.round(4), b.round(4))


def test_without_ddp_the_processes_weights_part_and_the_run_says_so(tmp_path):
    """The check every curve above passes: without DistributedDataParallel each process
    would take its own updates, and the run fails instead of saving one process's weights."""
    r = torchrun("tests/distributed_curves.py", tmp_path / "curves.json", "--without-ddp", "mae", home=tmp_path)
    assert r.returncode != 0
    assert "the processes' weights differ" in r.stdout + r.stderr


GAN_ARGS = ["--image-size", "32", "--n-images", "128", "--batch-size", "16", "--eval-every", "100000",
            "--checkpoint-every", "4", "--snapshot-seconds", "0.5"]


def test_torchrun_trains_one_run_that_rank_0_writes_and_a_stop_and_a_resume_reach_every_rank(tmp_path):
    home = tmp_path / "home"
    proc = torchrun("-m", "autoenc", "train", "wgan-gp", *GAN_ARGS, "--steps", "100000", "--run-id", "ddp",
                    home=home, background=True)
    try:
        store = RunStore(home)
        wait_until(lambda: store.list() and store.get("ddp").status == "running"
                   and (store.get("ddp").checkpoint_step or 0) >= 4, timeout=120)
        # the dashboard's Stop: a request in the store, which rank 0 reads and every rank obeys
        run = launcher.stop_run(store, "ddp", wait_s=60)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, out[-3000:]
    assert run.status == "stopped" and run.end_reason == "request"
    assert [r.id for r in store.list()] == ["ddp"], "two processes, one run"
    assert run.processes == 2 and run.config["batch_size"] == 16
    meta = read_meta(store.checkpoint_path("ddp"))
    assert meta["step"] == run.step == run.checkpoint_step and meta["config"]["world_size"] == 2
    rows = [(step, name) for step, name, _, _ in store.metric_rows("ddp")]
    assert len(rows) == len(set(rows)), "one process logs: no step's metric twice"
    assert store.latest_sample("ddp", "grid") is not None
    assert f"run ddp: stopped at step {run.step}" in out and out.count("run ddp:") == 1
    assert launcher.user_command(run.model, run.config).startswith("torchrun --nproc_per_node=2 -m autoenc train wgan-gp")

    # step mode pauses one process between two updates: refused with a message
    r = subprocess.run([sys.executable, "-m", "autoenc", "runs", "pause", "ddp"], cwd=ROOT, capture_output=True,
                       text=True, env={**os.environ, "AUTOENC_HOME": str(home)})
    assert r.returncode == 2 and "trains in 2 processes (torchrun)" in r.stderr and "Traceback" not in r.stderr
    listed = subprocess.run([sys.executable, "-m", "autoenc", "runs", "list"], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "AUTOENC_HOME": str(home)}).stdout.splitlines()
    assert "procs" in listed[0] and listed[1].split()[:3] == ["ddp", "wgan-gp", "stopped"] and " 2  " in listed[1]

    start = run.step
    r = torchrun("-m", "autoenc", "train", "wgan-gp", "--run-id", "ddp", "--resume", "--steps", start + 5, home=home)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = store.get("ddp")
    assert run.status == "finished" and run.step == start + 5 and run.processes == 2
    assert read_meta(store.checkpoint_path("ddp"))["step"] == start + 5
    steps, _ = store.metric_series("ddp", "loss_d")
    assert list(steps) == sorted(steps) and steps[-1] == start + 5


def test_torchrun_refuses_a_batch_that_does_not_split_and_step_mode(tmp_path):
    home = tmp_path / "home"
    r = torchrun("-m", "autoenc", "train", "gan", *GAN_ARGS, "--batch-size", "15", "--steps", "3", home=home)
    assert r.returncode != 0
    assert r.stderr.count("autoenc: error: batch_size 15 does not split into 2 processes evenly") == 1
    assert str(ROOT / "autoenc") not in r.stderr, "a message, not a traceback of ours (torchrun adds its own)"
    r = torchrun("-m", "autoenc", "train", "gan", *GAN_ARGS, "--steps", "3", "--paused", home=home)
    assert r.returncode != 0 and "step mode) is for a run of one process" in r.stderr
    assert RunStore(home).list() == []
