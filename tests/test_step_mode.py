"""Step mode of the GAN runs (issue 22, item 1): a run started paused makes exactly the critic
and generator updates asked for, across a pause, a second reader of the store (a reload, another
session) and a stop and resume; the same from the CLI."""
import json
import subprocess
import sys
import time

import pytest

from autoenc.errors import UserError
from autoenc.reliability import faults
from autoenc.runs import launcher, step_mode
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import RunStore
from tests.conftest import ROOT, run_cli

# a GAN small enough for a few ms a step; no validation (it would need the classifier)
TINY_GAN = {"image_size": 32, "ngf": 8, "ndf": 8, "batch_size": 8, "n_images": 64, "eval_every": 100_000,
            "checkpoint_every": 100_000, "steps": 100_000}


def wait_until(predicate, timeout=90.0):
    return faults.wait_until(predicate, timeout, 0.05)


def counts(store: RunStore, rid: str) -> tuple[int, int]:
    run = store.get(rid)
    return run.critic_steps, run.step


@pytest.mark.slow
def test_a_paused_run_makes_exactly_the_steps_asked_for_across_pause_reload_and_resume(home):
    store = RunStore(home)
    rid = launcher.start_run(store, "wgan-gp", TINY_GAN, paused=True)
    wait_until(lambda: store.get(rid).status == "running")
    assert counts(store, rid) == (0, 0) and store.get(rid).paused

    target = step_mode.request_steps(store, rid, critic=3)
    assert target == (3, 0)
    assert step_mode.wait_for_steps(store, rid, *target).critic_steps == 3
    target = step_mode.request_steps(store, rid, generator=1)
    step_mode.wait_for_steps(store, rid, *target)
    # "k critic steps, then 1 generator step", asked for by a second reader of the same store
    other = RunStore(home)
    target = step_mode.request_steps(other, rid, critic=5, generator=1)
    assert target == (8, 2)
    run = step_mode.wait_for_steps(other, rid, *target)
    assert (run.critic_steps, run.step) == (8, 2) and run.paused
    assert (run.pending_critic, run.pending_generator) == (0, 0)
    # the samples and losses of the last step are there once the counts are
    assert store.latest_sample(rid, "grid")[0] == 2
    steps, _ = store.metric_series(rid, "loss_g")
    assert list(steps) == [1, 2]

    # nothing moves while paused
    time.sleep(1.0)
    assert counts(store, rid) == (8, 2)

    # play: each generator step takes n_critic = 5 critic steps; then pause again
    step_mode.set_paused(store, rid, False)
    wait_until(lambda: store.get(rid).step >= 6)
    step_mode.set_paused(store, rid, True)
    time.sleep(0.5)      # the update under way ends, then it waits
    c1 = counts(store, rid)
    time.sleep(1.0)
    critic, generator = counts(store, rid)
    assert (critic, generator) == c1, "a paused run stays where it paused"
    assert critic == 8 + 5 * (generator - 2)

    # stop, resume: it comes back paused, from its checkpoint's counts
    run = launcher.stop_run(store, rid, wait_s=60)
    assert run.status == "stopped" and read_meta(store.checkpoint_path(rid))["step"] == generator
    launcher.resume_run(store, rid)
    wait_until(lambda: store.get(rid).status == "running")
    assert store.get(rid).paused and counts(store, rid) == (critic, generator)
    target = step_mode.request_steps(store, rid, critic=2, generator=3)
    run = step_mode.wait_for_steps(store, rid, *target)
    assert (run.critic_steps, run.step) == (critic + 2, generator + 3)
    launcher.stop_run(store, rid, wait_s=60)


@pytest.mark.slow
def test_the_cli_steps_plays_pauses_and_lists_the_counts(home):
    store = RunStore(home)
    args = [f"--{k.replace('_', '-')}={v}" for k, v in TINY_GAN.items()]
    train = subprocess.Popen([sys.executable, "-m", "autoenc", "train", "gan", *args, "--run-id", "g1", "--paused"],
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: any(r.id == "g1" and r.status == "running" for r in store.list()))
    r = run_cli("runs", "step", "g1", "--critic", "2", "--generator", "1", home=home)
    assert r.returncode == 0, r.stderr
    assert "critic step 2, generator step 1" in r.stdout
    r = run_cli("runs", "play", "g1", "--speed", "5", home=home)
    assert r.returncode == 0 and "at most 5 generator steps a second" in r.stdout, r.stdout + r.stderr
    wait_until(lambda: store.get("g1").step >= 4)
    r = run_cli("runs", "pause", "g1", home=home)
    assert r.returncode == 0 and "paused" in r.stdout, r.stderr
    listed = {x["id"]: x for x in json.loads(run_cli("runs", "list", "--json", home=home).stdout)}["g1"]
    assert listed["paused"] and listed["generator_steps"] == listed["step"] >= 4
    assert listed["critic_steps"] == 2 + (listed["step"] - 1)      # the BCE GAN: 1 critic step per step
    launcher.stop_run(store, "g1", wait_s=60)
    assert train.wait(60) == 0


def test_step_requests_are_refused_with_a_reason(home):
    store = RunStore(home)
    rid = store.create_run("gan", {}, "done")
    store.update(rid, status="finished")
    with pytest.raises(UserError, match="only a queued or training run takes steps"):
        step_mode.request_steps(store, rid, critic=1)
    with pytest.raises(UserError, match="at least one step"):
        step_mode.request_steps(store, rid)
    with pytest.raises(UserError, match="unknown run id"):
        step_mode.request_steps(store, "nope", critic=1)
    den = store.create_run("denoiser", {}, "den")
    with pytest.raises(UserError, match="step mode .* is for the GAN models"):
        step_mode.check_steppable(store.get(den).model, f"run {den}")
    with pytest.raises(UserError, match="at least 0"):
        step_mode.set_speed_limit(store, rid, -1)
    r = run_cli("runs", "step", "den", "--critic", "1", home=home)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "GAN models" in r.stderr
    r = run_cli("train", "denoiser", "--paused", "--steps", "1", home=home)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "step mode" in r.stderr


def test_the_gan_page_controls_write_the_runs_step_mode_state(home, shipped, monkeypatch):
    """AppTest: the controls of a paused run; no process trains it, so asked-for steps stay pending."""
    import os

    from streamlit.testing.v1 import AppTest

    from pages.ui import step_mode as ui
    monkeypatch.setattr(ui, "ANSWER_S", 0.2)
    store = RunStore(home)
    rid = store.create_run("wgan-gp", {**TINY_GAN, "n_critic": 2}, "w1", total_steps=100)
    store.update(rid, status="running", pid=os.getpid(), heartbeat=time.time(), started=time.time(), paused=1)
    at = AppTest.from_file("../pages/wgan_gp.py", default_timeout=60).run()
    assert not at.exception
    labels = [b.label for b in at.button]
    assert {"Play", "1 critic step", "1 generator step", "2 critic, then 1 generator"} <= set(labels)
    assert any("paused; critic step 0, generator step 0" in c.value for c in at.caption)
    at.button(key="wgan-gp_stepmode_critic1").click().run()
    assert not at.exception and store.get(rid).pending_critic == 1
    at.number_input(key="wgan-gp_stepmode_k").set_value(4).run()
    at.button(key="wgan-gp_stepmode_kthen1").click().run()
    run = store.get(rid)
    assert (run.pending_critic, run.pending_generator, run.paused) == (5, 1, True)
    at.button(key="wgan-gp_stepmode_play").click().run()
    assert not at.exception and not store.get(rid).paused
    assert "Pause" in [b.label for b in at.button]
    at.select_slider(key="wgan-gp_stepmode_speed").set_value(2.0).run()
    assert store.get(rid).speed_limit == 2.0
    store.update(rid, status="stopped")
    at.run()
    assert "1 critic step" not in [b.label for b in at.button], "no step controls for a run that has ended"


def test_the_runs_page_shows_a_paused_gan_run_and_its_counts(home, shipped):
    import os

    from streamlit.testing.v1 import AppTest
    store = RunStore(home)
    rid = store.create_run("gan", {**TINY_GAN, "n_critic": 1}, "g2", total_steps=100)
    store.update(rid, status="running", pid=os.getpid(), heartbeat=time.time(), started=time.time(), paused=1,
                 step=7, critic_steps=9)
    at = AppTest.from_file("../pages/runs.py", default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["run"] == rid].iloc[0]
    assert row["status"] == "running, paused" and row["critic steps"] == 9 and row["step"] == 7
    assert "1 generator step" in [b.label for b in at.button]
    assert any("paused; critic step 9, generator step 7" in c.value for c in at.caption)
