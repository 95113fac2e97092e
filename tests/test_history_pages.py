"""The history slider on the model pages (AppTest): one slider moves the samples, the loss
chart's cursor and the measures together; it follows the newest step until moved; the
history exports as a GIF."""
from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from autoenc.animation import history_gif
from autoenc.metrics import judge as J
from autoenc.runs.store import RunStore
from autoenc.train.task import config_to_dict
from tests.test_gan_pages import tiny_classifier, tiny_task

STEPS = (10, 20, 30)


def gan_run_with_history(home) -> str:
    """A finished GAN run with a distinct grid and evaluation at each of STEPS."""
    task = tiny_task("gan")
    store = RunStore(home)
    run_id = store.create_run("gan", config_to_dict(task.config), total_steps=STEPS[-1])
    grid = task.snapshot(2)["grid"]
    data = dict(zip(J.DATA_HIST_METRICS, [1 / 3] * 3))
    for i, step in enumerate(STEPS):
        store.put_sample(run_id, step, "grid", np.roll(grid, 7 * i, axis=1))
        store.log_metrics(run_id, [(step, "loss_d", 1.0 + i), (step, "loss_g", 2.0 - i)], step=step)
        hist = {"hist_barred": 0.1 + 0.1 * i, "hist_elliptical": 0.5, "hist_spiral": 0.4 - 0.1 * i}
        store.log_metrics(run_id, [(step, k, v) for k, v in {**hist, **data, "tv_distance": 0.1 * (i + 1),
                                                             "coverage": 0.5 + 0.1 * i, "precision": 0.5,
                                                             "recall": 0.5, "kid": 0.01 * (i + 1)}.items()])
    store.update(run_id, status="finished", checkpoint_step=None)
    return run_id


def grid_caption(at) -> str:
    return next(c for im in at.get("image") for c in im.captions if c.startswith("Step "))


def cursor(at, title: str) -> str | None:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"].get("meta") == title:
            notes = [a["text"] for a in spec["layout"].get("annotations", []) if a.get("text", "").startswith("step")]
            return notes[0] if notes else None
    raise AssertionError(f"no chart titled {title}")


def test_the_slider_moves_the_grid_the_chart_cursor_and_the_measures_together(home, shipped):
    tiny_classifier(shipped)
    gan_run_with_history(home)
    at = AppTest.from_file("../pages/gan.py", default_timeout=120).run()
    assert not at.exception
    slider = at.select_slider(key="gan_history_step")
    assert list(slider.options) == [f"{s:,}" for s in STEPS] and slider.value == 30      # follows the newest
    assert grid_caption(at).startswith("Step 30:") and cursor(at, "Losses") == "step 30"
    assert any(m.label == "TV distance" and m.value == "0.30" for m in at.metric)
    first_image = [im.proto.imgs[0].url for im in at.get("image")][0]

    slider.set_value(10).run()
    assert not at.exception
    assert grid_caption(at).startswith("Step 10:") and cursor(at, "Losses") == "step 10"
    assert any(m.label == "TV distance" and m.value == "0.10" for m in at.metric)
    assert any("Measured at step 10" in m.value for m in at.markdown)
    assert [im.proto.imgs[0].url for im in at.get("image")][0] != first_image
    assert at.session_state["gan_history_follow"] is False

    at.select_slider(key="gan_history_step").set_value(30).run()     # back at the newest: follows again
    assert at.session_state["gan_history_follow"] is True


def test_play_walks_the_history_to_the_newest_step(home, shipped):
    gan_run_with_history(home)
    at = AppTest.from_file("../pages/gan.py", default_timeout=120).run()
    at.button(key="gan_history_play").click().run()           # at the newest: play starts from the first
    assert not at.exception and at.session_state["gan_history_playing"]
    assert at.select_slider(key="gan_history_step").value == 10
    seen = [10]
    for _ in range(4):                                        # a frame per rerun (the fragment's timer)
        at.run()
        seen.append(at.select_slider(key="gan_history_step").value)
        if not at.session_state["gan_history_playing"]:
            break
    assert seen[-1] == 30 and seen == sorted(seen) and not at.session_state["gan_history_playing"]


def test_the_history_gif_has_a_frame_per_snapshot():
    frames = [np.full((20, 30, 3), v, np.uint8) for v in (0, 120, 240)]
    gif = Image.open(io.BytesIO(history_gif([1, 2, 3], frames)))
    assert gif.n_frames == 3 and gif.size == (30, 20 + 16)     # with the step under each
    gif.seek(2)
    assert gif.info["duration"] == 4 * 250                    # the newest held longer
    traces = [np.random.default_rng(i).normal(size=(3, 3, 500)).astype(np.float32) for i in range(2)]
    gif = Image.open(io.BytesIO(history_gif([5, 9], traces, traces=True)))
    assert gif.n_frames == 2 and gif.size[0] == 3 * 260


def test_the_denoiser_and_vae_pages_slide_over_their_runs(home, shipped):
    from autoenc.runs.worker import execute
    store = RunStore(home)
    execute(store, "denoiser", {"steps": 6, "eval_every": 2, "n_train": 64, "n_val": 20, "snapshot_seconds": 0.1,
                                "batch_size": 8}, threads=1)
    at = AppTest.from_file("../pages/denoiser.py", default_timeout=240).run()
    assert not at.exception
    slider = at.select_slider(key="denoiser_galactic_history_step")
    steps = [int(s.replace(",", "")) for s in slider.options]
    assert len(steps) >= 2 and slider.value == steps[-1]
    slider.set_value(steps[0]).run()
    assert not at.exception
    assert any(m.value == f"**step {steps[0]:,}: example 1**" for m in at.markdown)
    assert cursor(at, "MSE loss (train and validation)") == f"step {steps[0]:,}"
    slider.set_value(steps[-1]).run()
    assert any(m.value.startswith("**Validation at step ") for m in at.markdown)

    execute(store, "vae", {"arch": "conv", "image_size": 32, "n_images": 60, "steps": 4, "batch_size": 8,
                           "eval_every": 2, "snapshot_seconds": 0.1}, threads=1)
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    slider = at.select_slider(key="vae_history_step")
    steps = [int(s.replace(",", "")) for s in slider.options]
    slider.set_value(steps[0]).run()
    assert not at.exception
    captions = [c for im in at.get("image") for c in im.captions]
    assert f"originals (top) and reconstructions (bottom) at step {steps[0]:,}" in captions
    slider.set_value(steps[-1]).run()
    assert any(m.value.startswith(f"**Validation at step {steps[-1]:,}**") and "dimensions in use" in m.value
               for m in at.markdown)

    execute(store, "mae", {"image_size": 32, "n_images": 60, "steps": 4, "batch_size": 8, "eval_every": 2, "dim": 32,
                           "depth": 1, "heads": 2, "decoder_dim": 16, "decoder_depth": 1, "snapshot_seconds": 0.1},
            threads=1)
    at = AppTest.from_file("../pages/mae.py", default_timeout=240).run()
    slider = at.select_slider(key="mae_history_step")
    steps = [int(s.replace(",", "")) for s in slider.options]
    assert any(m.value.startswith(f"**Validation at step {steps[-1]:,}**") and "masked / baseline" in m.value
               for m in at.markdown)
    slider.set_value(steps[0]).run()
    assert not at.exception
    assert f"masked (top), reconstructed (middle), original (bottom) at step {steps[0]:,}" in [
        c for im in at.get("image") for c in im.captions]


def test_another_run_shown_starts_at_its_newest_step(home, shipped):
    first = gan_run_with_history(home)
    at = AppTest.from_file("../pages/gan.py", default_timeout=120).run()
    at.select_slider(key="gan_history_step").set_value(10).run()
    assert at.session_state["gan_history_follow"] is False
    second = gan_run_with_history(home)
    at.run()
    at.selectbox(key="gan_run").set_value(second).run()
    assert not at.exception
    assert at.select_slider(key="gan_history_step").value == 30 and at.session_state["gan_history_follow"]
    assert first != second
