"""Issue 19, what breaks in front of a class (AppTest and the run machinery): a second Train
shows the new run, a queued run says what it waits for, Resume and Train more mean one thing
on every page, status text that does not contradict itself, a Runs page that tells runs
apart, a home page that says where to start."""
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from autoenc.errors import UserError
from autoenc.registry import MODELS
from autoenc.runs import launcher
from autoenc.runs.store import RunStore
from autoenc.runs.worker import execute
from pages.ui.runs import status_label
from tests.conftest import run_cli

TINY = {"n_train": 256, "n_val": 64, "batch_size": 32, "eval_every": 10, "checkpoint_every": 10,
        "snapshot_seconds": 0.5, "noise": "uniform"}


def finished_denoiser(store, steps=20, **settings):
    run_id, outcome = execute(store, "denoiser", {**TINY, "steps": steps, **settings}, threads=1)
    return run_id, outcome


def time_limited_denoiser(store):
    """A run stopped by its time limit before its last step (as a 60 s run is at 755 of 1500)."""
    run_id, outcome = execute(store, "denoiser", {**TINY, "steps": 1_000_000}, max_seconds=0.5, threads=1)
    assert outcome.status == "stopped" and outcome.reason == "time_limit"
    return run_id


def page(name: str) -> AppTest:
    return AppTest.from_file(f"../pages/{name}.py", default_timeout=120)


# -- 1. a second Train shows the run it has just started ---------------------------------------

@pytest.mark.parametrize("name, key", [("denoiser", "denoiser_uniform"), ("vae", "vae")])
def test_train_shows_the_run_it_has_just_started(home, name, key):
    store = RunStore(home)
    old = store.create_run(name, {"noise": "uniform"} if name == "denoiser" else {}, total_steps=10)
    store.update(old, status="finished", step=10, checkpoint_step=10)
    at = page(name)
    if name == "denoiser":
        at.run()
        at.radio(key="noise").set_value("uniform")
    at.run()
    assert at.selectbox(key=f"{key}_run").value == old
    at.button(key=f"{key}_train").click().run()
    assert not at.exception
    new = next(r.id for r in store.list(model=name) if r.id != old)
    try:
        assert at.selectbox(key=f"{key}_run").value == new
        assert not at.button(key=f"{key}_stop").disabled             # the page shows the new, active run
    finally:
        launcher.delete_run(store, new)


# -- 2. a queued run says what it waits for -----------------------------------------------------

def test_a_queued_run_says_which_run_it_waits_for_and_offers_to_stop_it_or_raise_the_limit(home):
    store = RunStore(home)
    store.set_setting("max_concurrent", 1)
    now = time.time()
    busy = store.create_run("wgan-gp", {}, total_steps=1000)
    store.update(busy, status="running", pid=os.getpid(), heartbeat=now, started=now - 100, step=100, max_seconds=300)
    store.log_metrics(busy, [(10, "loss_g", 1.0)])
    time.sleep(0.05)
    store.log_metrics(busy, [(100, "loss_g", 1.0)], step=100)
    waiting = store.create_run("gan", {}, total_steps=3000)
    store.update(waiting, pid=os.getpid(), heartbeat=now)
    at = page("gan").run()
    assert not at.exception
    assert at.selectbox(key="gan_run").value == waiting
    notes = " ".join(i.value for i in at.info)
    assert f"run {busy} is training on the WGAN-GP page" in notes and "left" in notes
    assert "waits in the queue; its curves start when it does" in notes
    assert not [c for c in at.get("plotly_chart")]                  # no empty axes for a queued run
    at.button(key="gan_raise_limit").click().run()
    assert store.max_concurrent() == 2
    at.button(key=f"gan_stop_{busy}").click().run()
    assert store.get(busy).stop_requested


def test_seconds_left_is_the_nearer_of_the_time_limit_and_the_last_step(home):
    store = RunStore(home)
    now = time.time()
    rid = store.create_run("denoiser", {}, total_steps=1000)
    store.update(rid, status="running", pid=os.getpid(), heartbeat=now, started=now - 20, step=100, max_seconds=60)
    with store.connect() as db:     # 90 steps in 9 s: 10 steps a second, 900 steps (90 s) to go
        db.executemany("INSERT INTO metrics (run_id, step, name, value, time) VALUES (?,?,?,?,?)",
                       [(rid, 10, "loss", 1.0, now - 9), (rid, 100, "loss", 1.0, now)])
    assert launcher.seconds_left(store, store.get(rid)) == pytest.approx(40, abs=1)     # the limit comes first
    store.update(rid, max_seconds=None)
    assert launcher.seconds_left(store, store.get(rid)) == pytest.approx(90, abs=1)


# -- 3. Resume means one thing everywhere -------------------------------------------------------

def test_a_run_stopped_by_its_time_limit_resumes_and_a_finished_one_trains_more(home):
    store = RunStore(home)
    limited = time_limited_denoiser(store)
    done, _ = finished_denoiser(store, steps=20)
    assert store.get(limited).can_continue and not store.get(limited).can_extend
    assert store.get(done).can_extend and not store.get(done).can_continue
    with pytest.raises(UserError, match="trained all its 20 steps"):
        launcher.prepare_resume(store, done)
    r = run_cli("runs", "resume", done, home=home)
    assert r.returncode == 2 and "trained all its 20 steps" in r.stderr
    assert run_cli("runs", "resume", done, "--steps", "5", home=home).returncode == 0
    assert store.get(done).step == 25 and store.get(done).status == "finished"

    for name, key in (("denoiser", "denoiser_uniform"), ("runs", "runs")):
        at = page(name)
        if name == "denoiser":
            at.run()
            at.radio(key="noise").set_value("uniform")
        at.run()
        for run_id, resume, more in ((limited, True, False), (done, False, True)):
            select = at.selectbox(key="run_choice" if name == "runs" else f"{key}_run")
            select.set_value(run_id).run()
            assert not at.exception
            assert not at.button(key=f"{key}_resume").disabled == resume, (name, run_id)
            assert not at.button(key=f"{key}_more").disabled == more, (name, run_id)


# -- 5. status text never contradicts itself ----------------------------------------------------

def test_after_resume_the_status_says_nothing_of_the_earlier_stop(home):
    store = RunStore(home)
    run_id, _ = finished_denoiser(store, steps=10)
    run = store.get(run_id)
    store.update(run_id, status="stopped", end_reason="request", note="stopped on request", total_steps=30,
                 config={**run.config, "steps": 30})
    assert "stopped on request at 10/30" in status_label(store.get(run_id))
    launcher.prepare_resume(store, run_id)
    label = status_label(store.get(run_id))
    assert label.startswith(":gray-badge[queued] step 10/30") and "stopped" not in label


# -- 12. a Runs page that tells runs apart ------------------------------------------------------

def test_the_runs_page_shows_settings_why_a_run_ended_and_its_full_command(home):
    store = RunStore(home)
    limited = time_limited_denoiser(store)
    store.update(limited, max_seconds=60)
    at = page("runs").run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["run"] == limited].iloc[0]
    assert row["settings"] == "noise uniform" and row["why it ended"].startswith("time limit 60 s, at ")
    at.selectbox(key="run_choice").set_value(limited).run()
    command = at.code[0].value
    assert command.startswith("python -m autoenc train denoiser ") and "--noise uniform" in command
    assert command.endswith("--max-seconds 60")


def test_home_counts_training_and_queued_runs_apart(home):
    store = RunStore(home)
    for status in ("running", "queued", "queued", "finished"):
        rid = store.create_run("denoiser", {}, total_steps=10)
        store.update(rid, status=status, pid=os.getpid(), heartbeat=time.time())
    at = AppTest.from_file("../app.py", default_timeout=30).run()
    assert "Runs: 1 training, 2 queued, 4 in all" in [link.proto.label for link in at.get("page_link")]


def test_runs_stopped_from_the_cli_leave_no_zombie_under_the_dashboard(home):
    """The dashboard's process is the parent of the runs it starts: it must reap them."""
    store = RunStore(home)
    rid = launcher.start_run(store, "denoiser", {**TINY, "steps": 1_000_000})
    pid = store.get(rid).pid
    deadline = time.time() + 90
    while store.get(rid).status != "running" and time.time() < deadline:
        time.sleep(0.2)
    assert run_cli("runs", "stop", rid, home=home).returncode == 0
    deadline = time.time() + 30
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}"), open(f"/proc/{pid}/stat").read()


# -- 13. home says where to start ---------------------------------------------------------------

def test_home_suggests_an_order_for_a_lesson_and_says_where_the_classifier_is_used(home):
    at = AppTest.from_file("../app.py", default_timeout=30).run()
    links = [link.proto.label for link in at.get("page_link")]
    order = [label.split(". ", 1)[1].split(":")[0] for label in links if label[:1].isdigit()]
    assert order == ["Denoiser", "VAE", "GAN", "acGAN", "WGAN-GP", "WGAN-div", "Datasets"]
    used = [c.value for c in at.caption if "no page of its own" in c.value]
    assert used == ["It has no page of its own; it is used on GAN, acGAN, WGAN-GP, WGAN-div:"]
    gan_pages = {MODELS[m].page.removeprefix("pages/").removesuffix(".py") for m in ("gan", "acgan", "wgan-gp", "wgan-div")}
    assert gan_pages <= {link.proto.page for link in at.get("page_link")}


# -- 4. your run and the shipped model, side by side --------------------------------------------

def test_the_page_shows_your_run_beside_the_shipped_model_and_you_pick_which_it_shows(home):
    store = RunStore(home)
    run_id, _ = finished_denoiser(store, steps=20)
    at = page("denoiser").run()
    at.radio(key="noise").set_value("uniform").run()
    assert not at.exception
    table = at.dataframe[0].value
    run_label = f"run {run_id} (step 20)"
    assert list(table.columns) == ["shipped checkpoint", run_label]
    assert list(table.index) == ["peak accuracy", "SNR gain (median)", "measured on"]
    assert set(table.loc["measured on"]) == {"held-out set"}
    assert table.loc["peak accuracy", "shipped checkpoint"] != table.loc["peak accuracy", run_label]
    source = at.radio(key="denoiser_source_uniform")
    assert source.value == "shipped checkpoint"                    # the page does not switch by itself
    assert any(c.value.startswith("Model: shipped checkpoint.") for c in at.caption)
    source.set_value(run_label).run()
    assert any(c.value.startswith(f"Model: {run_label}.") for c in at.caption)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Peak accuracy"] == table.loc["peak accuracy", run_label]


def test_while_a_run_trains_its_column_comes_from_its_logged_validation_not_a_new_held_out_pass(home):
    """A training run writes a checkpoint every few seconds; measuring each on the held-out set
    kept the server busy for every session watching (a third of its CPU with 12 sessions)."""
    store = RunStore(home)
    run_id, _ = finished_denoiser(store, steps=20)
    store.log_metrics(run_id, [(20, "val_peak_accuracy", 0.123), (20, "val_snr_gain_db", 4.56),
                               (30, "val_peak_accuracy", 0.999)])       # after the checkpoint: not its figure
    store.update(run_id, status="running", pid=os.getpid(), heartbeat=time.time())
    at = page("denoiser").run()
    at.radio(key="noise").set_value("uniform").run()
    assert not at.exception
    table = at.dataframe[0].value
    run_label = f"run {run_id} (step 20)"
    assert table.loc["peak accuracy", run_label] == "12.3%"
    assert table.loc["SNR gain (median)", run_label] == "+4.6 dB"
    assert table.loc["measured on", run_label] == "validation set (run still training)"
    assert table.loc["measured on", "shipped checkpoint"] == "held-out set"
    store.update(run_id, status="stopped", pid=None)


# -- 9 and 10. figures from measurements, text written for students ----------------------------

TEXT = Path(__file__).resolve().parents[1] / "pages" / "text"
MODEL_PAGES = [Path(spec.page).stem for spec in MODELS.values() if spec.page]
JARGON = ("AVX", "AMX", "bfloat16", "ema_decay", "fake_class_weight", "seed paper", "seed Figure", "the seed's")


def test_every_page_reads_its_prose_from_its_text_file_written_for_students():
    import re

    from pages.ui.text import sections
    for page in MODEL_PAGES:
        found = sections(page)
        assert "Try this" in found, page
        assert "Revisiting Autoencoders" in found["intro"] and "the article" in found["intro"], page
    assert "What to look at" in sections("denoiser") and "What to look at" in sections("vae")
    assert "What to look at" in sections("gans")
    assert "not on those of the Inception network" in sections("gans")["Mode collapse, measured"]
    for path in TEXT.glob("*.md"):
        prose = re.sub(r"\{\{\w+\}\}", "", path.read_text())          # placeholders are filled by the page
        assert not [w for w in JARGON if w in prose], path.name
        # a figure in the prose is a definition (2 % of the trace) or a placeholder filled by the page
        assert re.findall(r"\d[\d.,]*\s?%", prose) in ([], ["2 %"]), path.name


def test_the_acgan_page_quotes_the_class_accuracy_the_shipped_file_records(home, shipped):
    from autoenc.runs.checkpoint import read_meta, save_checkpoint
    from tests.test_gan_pages import save_task, tiny_task
    task = tiny_task("acgan")
    path = shipped / "acgan-64.safetensors"
    save_task(task, path, step=7, with_optimizer=False)
    meta = read_meta(path)
    save_checkpoint(path, task.state_tensors(with_optimizer=False),
                    {**meta, "selected_by": {"metric": "class_accuracy", "value": 0.777, "lower_is_better": False}})
    at = AppTest.from_file("../pages/acgan.py", default_timeout=60).run()
    assert not at.exception
    assert any("drew the class asked for 78% of the time" in m.value for m in at.markdown)


def test_the_gan_page_times_a_step_from_this_machines_runs(home, shipped):
    store = RunStore(home)
    at = AppTest.from_file("../pages/gan.py", default_timeout=60).run()
    assert any("No run of this model at 32 px has trained on this machine yet" in i.value for i in at.info)
    rid = store.create_run("gan", {"image_size": 32}, total_steps=100)
    store.update(rid, status="finished", step=100)
    with store.connect() as db:     # 100 steps in 50 s
        db.executemany("INSERT INTO metrics (run_id, step, name, value, time) VALUES (?,?,?,?,?)",
                       [(rid, 1, "loss_g", 1.0, 1000.0), (rid, 101, "loss_g", 1.0, 1050.0)])
    at = AppTest.from_file("../pages/gan.py", default_timeout=60).run()
    timing = " ".join(i.value for i in at.info)
    assert "a 32 px step of this model took 0.5 s in your earlier runs (median of 1)" in timing
    assert "a 5-minute run is about 600 steps" in timing
