"""The body shared by the four GAN pages (GAN, acGAN, WGAN-GP, WGAN-div).

Each page file calls `gan_page(model)`. Top to bottom: the loss and what to expect, live
training (one history slider over the losses, the fixed-z grid, the measures and the critic's
view), 32 samples on demand (acGAN: a chosen class, and
one row per class from the same z), and mode collapse, measured (gan_measures.py). What
differs per model comes from its Task (losses, chart, recipe) and its page text
(pages/text/<page>.md); the numbers come from the library.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import streamlit as st

from autoenc.data.galaxy_set import CLASS_NAMES
from autoenc.errors import CheckpointError, UserError
from autoenc.inference.gan import class_rows, generate, sampling_generator
from autoenc.metrics.judge import EVAL_SAMPLES
from autoenc.paths import shipped_path
from autoenc.registry import get_model
from autoenc.runs import compare, launcher
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.page_defaults import PAGE_RECIPE, page_config
from autoenc.runs.store import Run, RunStore
from autoenc.train.losses import formulas
from pages.ui.critic_view import critic_view_section
from pages.ui.gan_measures import collapse_section, run_measures
from pages.ui.history import HistoryViews, run_history
from pages.ui.images import show_grid, show_image
from pages.ui.link import part
from pages.ui.models import best_label, checkpoint_picker, trained_model
from pages.ui.neighbours import neighbour_section
from pages.ui.runs import get_store, run_controls, run_picker, training_data
from pages.ui.step_mode import step_controls
from pages.ui.text import text, try_this
from pages.ui.views import GANView

N_SAMPLES, SAMPLE_COLS = 32, 8


def page_name(model: str) -> str:
    """The page's file stem, which names its text file: wgan-gp -> wgan_gp."""
    return Path(get_model(model).page).stem


def shipped_run(model: str, steps: int) -> str:
    """'3,000 generator steps', or where pretrain kept the best validation, which step of how many."""
    try:
        step = int(read_meta(shipped_path(f"{model}-64.safetensors"))["step"])
    except (OSError, CheckpointError, KeyError, TypeError, ValueError):
        step = steps
    if step == steps:
        return f"{steps:,} generator steps"
    return f"the weights at step {step:,} (its best validation) of a {steps:,}-step run"


def stage_batches(task_cls) -> list[int]:
    """The batch sizes the shipped checkpoint's plan trained with, stage by stage, each once."""
    plan = task_cls.pretrain_plan()[0]
    batch = plan.settings.get("batch_size", task_cls.Config().batch_size)
    out = [batch]
    for stage in plan.then:
        batch = stage.get("batch_size", batch)
        if batch != out[-1]:
            out.append(batch)
    return out


FIVE_MINUTES = 300.0


def expectations(store: RunStore, model: str, task_cls, size: int) -> str:
    """How long a step takes here (measured on this machine's earlier runs), where the samples
    come from, and what the shipped checkpoint is (from the Task's plan and the file)."""
    measured = launcher.step_seconds(store, model, image_size=size)
    if measured:
        seconds, n = measured
        timing = text("gans", "Timing on this machine", size=size, seconds=f"{seconds:.2g}", n=n,
                      steps=f"{round(FIVE_MINUTES / seconds, -1):,.0f}")
    else:
        timing = text("gans", "Timing not measured yet", size=size)
    final = task_cls.pretrain_plan()[0].final_settings
    first, *later = stage_batches(task_cls)
    batches = f"batch {first}" + (f", then {later[-1]} in its last stage" if later else "")
    decay = page_config(model).ema_decay
    sampling = (text("gans", "Samples from a moving average", window=f"{round(1 / (1 - decay)):,}")
                if decay > 0 else text("gans", "Samples from the generator"))
    averaged = (", drawn by a moving average of its generator" if final.get("ema_decay") else "")
    shipped = text("gans", "The shipped checkpoint", run=shipped_run(model, final["steps"]), batches=batches,
                   averaged=averaged, model=model)
    # three paragraphs: this machine and these samples, the recipe Train starts, the shipped file
    return "\n\n".join(part for part in (f"{timing} {sampling}", recipe_words(model, task_cls), shipped) if part)


def recipe_words(model: str, task_cls) -> str:
    """What the page's recipe changes from the config's (the paper's) defaults, or ''."""
    recipe = PAGE_RECIPE.get(model)
    if not recipe:
        return ""
    def words(cfg) -> str:
        values = setting_values(cfg)
        def one(k: str) -> str:
            if k in RECIPE_SWITCHES:
                return RECIPE_SWITCHES[k][bool(getattr(cfg, k))]
            if k == "ema_decay" and not cfg.ema_decay:
                return "no moving average"
            return f"{RECIPE_LABELS[k]} {values[k]}"
        return ", ".join(one(k) for k in recipe)
    return text("gans", "The live recipe", changes=words(page_config(model)), paper=words(task_cls.Config()))


# how the page's text names the settings a recipe changes
RECIPE_LABELS = {"lr": "learning rate", "batch_size": "batch", "ema_decay": "a moving average of G with decay",
                 "fake_class_weight": "λ_f", "class_weight": "λ_c", "n_critic": "critic steps per G step",
                 "betas": "Adam betas"}
# a recipe's on/off settings, in words for (off, on)
RECIPE_SWITCHES = {"sky_bias": ("G's output starting at mid grey", "G's output starting at the dark sky")}


def kept_figures(model: str) -> dict[str, str]:
    """The shipped file's own record of the validation it was kept at, for the page text."""
    try:
        sel = read_meta(shipped_path(f"{model}-64.safetensors"))["selected_by"]
    except (OSError, CheckpointError, KeyError, TypeError):
        return {}
    return {"accuracy": f"{sel['value']:.0%}", "n": f"{EVAL_SAMPLES}"} if sel["metric"] == "class_accuracy" else {}


def setting_values(cfg) -> dict[str, str]:
    """A config's values as its page text writes them: 2e-4, 10, on / off."""
    def written(v) -> str:
        if isinstance(v, bool):
            return "on" if v else "off"
        if isinstance(v, tuple):
            return "(" + ", ".join(map(written, v)) + ")"
        return f"{v:g}" if isinstance(v, float) else str(v)
    return {k: written(v) for k, v in vars(cfg).items()}


def gan_page(model: str) -> None:
    spec = get_model(model)
    task_cls = spec.task_class()
    cfg = page_config(model)
    page = page_name(model)
    st.title(spec.title)
    st.markdown(text(page, z_dim=cfg.z_dim))

    st.subheader("The loss")
    for formula in formulas(task_cls.loss_functions):
        st.latex(formula)
    st.markdown(text(page, "The loss", **setting_values(cfg)))
    if kept := kept_figures(model):
        st.markdown(text(page, "The shipped checkpoint's classes", **kept))
    st.markdown(text("gans", "What to look at"))
    try_this(page, GANView().try_this)

    store = get_store()
    if store is None:
        st.stop()
    shown = training_section(store, model, task_cls)
    source = samples_section(store, model, shown)
    collapse_section(store, model, source)
    neighbour_section(model, source)


def training_section(store: RunStore, model: str, task_cls) -> Run | None:
    st.subheader("Train it live")
    cfg = page_config(model)
    with part("settings", "training"):
        c = st.columns(5)
        size = c[0].selectbox("Image size (px)", (32, 64), key=f"{model}_size",
                              help="32 px trains several times faster; the shipped checkpoints are 64 px")
        steps = c[1].number_input("Steps", value=cfg.steps, step=100, key=f"{model}_steps",
                                  help="generator steps; training stops at the time limit if that comes first")
        limit = c[2].number_input("Time limit (s)", min_value=5, max_value=24 * 3600, value=300, step=30,
                                  key=f"{model}_limit")
        n_images = c[3].number_input("Training images", value=cfg.n_images, step=500, key=f"{model}_n_images",
                                     help="rendered once per size and cached on disk")
        seed = c[4].number_input("Seed", value=0, step=1, key=f"{model}_seed")
    with part("train", "expectations"):
        st.info(expectations(store, model, task_cls, int(size)), icon=":material/timer:")
    shown = run_picker(store.list(model=model), key=model)
    with part("settings", "data"):
        data = training_data(store, model)
        paused = st.toggle("Start paused, to train step by step", key=f"{model}_start_paused",
                           help="the run waits at step 0; then make single critic and generator steps, or press Play")

    def start() -> str:
        settings = {**PAGE_RECIPE.get(model, {}), "image_size": int(size), "steps": int(steps),
                    "n_images": int(n_images), "seed": int(seed), "data": data}
        return launcher.start_run(store, model, settings, max_seconds=float(limit), paused=paused)

    run_controls(store, shown, start, key=model)
    with part("train", "race"):
        race_button(store, int(size), int(seed), float(limit), data, int(n_images), key=model)
    if shown is not None:
        with part("train", "step_mode"):
            step_controls(store, shown, int(shown.config.get("n_critic", cfg.n_critic)), key=f"{model}_stepmode")
    if shown is None:
        with part("train", "no_run"):
            st.info(f"No {get_model(model).title} run yet: press **Train**. The samples below come from the "
                    "shipped checkpoint when it is there.", icon=":material/play_circle:")
        return None
    title = "Losses" + (" and the Wasserstein estimate" if "wasserstein" in task_cls.chart_metrics else "")
    rows, cols = task_cls.grid_shape
    rows_note = ("one row per class, the same z down each column" if task_cls.n_classes
                 else f"the same {rows * cols} z all along")

    def at_step(step: int) -> None:
        run_measures(store, shown, model, step)
        critic_view_section(store, shown, task_cls, key=f"{model}_critic_view", step=step)
    views = HistoryViews(
        sample=task_cls.history_sample, chart=task_cls.chart_metrics, chart_title=title, log_y=False, gif_name="grid.gif",
        draw=lambda step, image: show_image(image, f"Step {step:,}: {rows_note}", tile=shown.config.get("image_size")),
        at_step=at_step)
    run_history(store, shown, views, key=f"{model}_history")
    return shown


def race_button(store: RunStore, size: int, seed: int, limit: float, data: str, n_images: int, key: str) -> None:
    """Start GAN, WGAN-GP and WGAN-div with these settings and open their comparison."""
    if st.button("Race GAN, WGAN-GP and WGAN-div", icon=":material/sports_score:", key=f"{key}_race",
                 disabled=bool(store.read_only), help=text("gans", "The race button")):
        try:
            ids = compare.start_race(store, size, seed, data, n_images, max_seconds=limit)
        except UserError as e:
            st.error(str(e))
            return
        st.switch_page("pages/compare.py", query_params={"runs": ",".join(ids)})


@st.cache_data(show_spinner=False, max_entries=64)
def sample_images(path: str, mtime: float, model: str, seed: int, label: int | None) -> np.ndarray:
    g = sampling_generator(trained_model(Path(path), model).modules)
    return generate(g, N_SAMPLES, seed, labels=label)


@st.cache_data(show_spinner=False, max_entries=16)
def class_row_images(path: str, mtime: float, model: str, seed: int) -> np.ndarray:
    g = sampling_generator(trained_model(Path(path), model).modules)
    return class_rows(g, SAMPLE_COLS, seed)


def samples_section(store: RunStore, model: str, shown: Run | None) -> Path | None:
    """32 samples from the shipped checkpoint or the shown run's; returns the file drawn from."""
    st.subheader(f"{N_SAMPLES} random samples")
    shipped = shipped_path(f"{model}-64.safetensors")
    def preview(path: Path) -> np.ndarray:
        return sample_images(str(path), path.stat().st_mtime, model, 0, None)[:8]

    picked = checkpoint_picker(store, shown, {"shipped 64 px checkpoint": shipped}, key=f"{model}_source",
                               label="Draw from", preview=preview)
    if picked is None:
        st.info(f"No checkpoint to draw from yet: the shipped `{shipped.name}` is not there (make it with "
                f"`python -m autoenc pretrain {model}`), and no run shown here has saved one. A run saves "
                "a checkpoint when it stops and every few hundred steps.", icon=":material/info:")
        return None
    name, path = picked
    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    view = GANView(prefix=f"{model}_")
    seed_key = view.key("sample_seed")
    seed = c1.number_input("Sample seed", value=view.sample_seed, step=1, key=seed_key, bind="query-params")

    def new_seed():
        st.session_state[seed_key] = random.randrange(10_000)
    c2.button("New samples", icon=":material/casino:", key=f"{model}_new_samples", on_click=new_seed)

    mtime = path.stat().st_mtime
    if shown is not None and path == store.best_checkpoint_path(shown.id):
        st.caption(f"The weights where the run measured its {best_label(path)}, among its "
                   "validations in the last third of its steps.")
    try:
        trained = trained_model(path, model)
    except UserError as e:
        st.error(str(e))
        return None
    step = trained.meta.get("step")
    about = f"{trained.config.image_size} px" + (f", step {step:,}" if step else "")
    if int(seed) < 0:
        st.error(f"the sample seed must be 0 or more, not {int(seed)}")
        return None
    if trained.modules["generator"].n_classes:
        label = st.radio("Class", list(range(len(CLASS_NAMES))), format_func=lambda i: CLASS_NAMES[i],
                         index=view.sample_class, horizontal=True, key=view.key("sample_class"), bind="query-params")
        st.markdown(f"**{CLASS_NAMES[label]}**, {N_SAMPLES} samples")
        show_grid(sample_images(str(path), mtime, model, int(seed), int(label)), SAMPLE_COLS,
                  f"{name} ({about}), seed {int(seed)}")
        st.markdown("**One row per class, the same z in each column**")
        show_grid(class_row_images(str(path), mtime, model, int(seed)), SAMPLE_COLS,
                  " · ".join(f"row {i + 1}: {c}" for i, c in enumerate(CLASS_NAMES)))
        st.caption(text(page_name(model), "Samples by class"))
    else:
        show_grid(sample_images(str(path), mtime, model, int(seed), None), SAMPLE_COLS,
                  f"{name} ({about}), seed {int(seed)}")
    return path
