"""The body shared by the four GAN pages (GAN, acGAN, WGAN-GP, WGAN-div).

Each page file calls `gan_page(model)`. Top to bottom: the loss and what to expect, live
training (losses and the fixed-z grid), 32 samples on demand (acGAN: a chosen class, and
one row per class from the same z), and mode collapse, measured by the galaxy classifier.
Everything here lays out widgets; the numbers come from autoenc.train.gan.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from autoenc.data.galaxies import CLASS_NAMES
from autoenc.errors import CheckpointError, UserError
from autoenc.registry import MODELS
from autoenc.runs import launcher
from autoenc.runs.checkpoint import read_meta
from autoenc.runs.store import Run, RunStore
from autoenc.train import gan
from autoenc.train.classifier import HELDOUT_SIZE
from autoenc.train.pretrain import load_trained
from pages.ui import get_store, live_chart, run_controls, training_data

GRID_SECONDS = 3.0          # the live grid: a run writes a new one about every 3 s
EVAL_SECONDS = 10.0         # measures are logged every eval_every steps: minutes apart
N_SAMPLES, SAMPLE_COLS = 32, 8
MEASURE_N = 512             # samples the "measure" button judges (about 5-10 s on 2 cores)
DISPLAY_WIDTH = 560         # pixels a sample grid is scaled up to (nearest neighbour)
CLASS_COLOURS = ("#1c7ed6", "#e8590c")
CURVE_LABELS = {"coverage": "coverage", "precision": "precision", "recall": "recall",
                "class_accuracy": "class accuracy", "kid": "KID"}
LOSS_LABELS = {"loss_g": "generator", "loss_d": "critic (discriminator)", "wasserstein": "Wasserstein estimate",
               "class_loss_real": "class cross-entropy, real images"}

INTRO = {
    "gan": "A **generative adversarial network** learns to draw galaxies from noise. The generator G "
           "turns a vector z of 100 random numbers into an image; the discriminator D sees rendered "
           "galaxies and G's fakes and learns to tell them apart, while G learns to fool it. The nets "
           "are DCGAN's (Radford et al. 2016): transposed convolutions up, strided convolutions down, "
           "BatchNorm, Adam with learning rate 2·10⁻⁴ and β₁ = 0.5.",
    "acgan": "An **auxiliary-classifier GAN** draws the galaxy class you ask for: barred spiral, "
             "elliptical or spiral. The generator gets the class as well as the noise z (the class's "
             "embedding multiplies z); the discriminator has a second head that names the class.",
    "wgan-gp": "A **Wasserstein GAN with gradient penalty**: the critic scores images instead of "
               "classifying them, and the distance it estimates gives the generator useful gradients "
               "even when real and fake images are easy to tell apart. It trains more steadily than the "
               "basic GAN and collapses less often, at about five times the cost per step.",
    "wgan-div": "A **Wasserstein divergence GAN**: the critic game of WGAN-GP with a different penalty, "
                "taken at the real and the generated images themselves rather than at points between "
                "them, and with no target gradient norm.",
}


def loss_text(model: str, cfg) -> str:
    if model == "gan":
        return ("D minimises the binary cross-entropy of calling real images real and fakes fake; G "
                "minimises the *non-saturating* loss −log σ(D(G(z))) (Goodfellow et al. 2014), whose "
                "gradient does not vanish while D wins easily. The two losses trade rather than fall "
                "together: when D is at chance (σ = ½ for every image), L_D = 2 ln 2 ≈ 1.39 and "
                "L_G = ln 2 ≈ 0.69. L_D near 0 with L_G climbing means D has won and G learns little.")
    if model == "acgan":
        return ("Both nets add a class cross-entropy to the adversarial BCE (Odena et al. 2017): D on "
                "real images with their true class and on fakes with the class they were asked for, G on "
                "its fakes, so G learns to draw the class it is given. The class head takes logits "
                "(cross-entropy applies the softmax itself). The chart adds D's class loss on real "
                "images: it falls as D learns the classes, and G can only learn them after it does. "
                f"λ_f and λ_c are 1 in the paper (settings `fake_class_weight` {cfg.fake_class_weight:g} and "
                f"`class_weight` {cfg.class_weight:g}). With them the shipped generator drew the asked-for class "
                "only 57 % of the time: D's class head, trained on fakes too, learnt G's own cues for a class. "
                "It was then fine-tuned with λ_f = 0 (the head learns from real galaxies only, so G must draw "
                "what a classifier of real galaxies recognises) and λ_c up to 10: 76 %. Its own class head "
                "still found 99.7 % of those samples right: G had learnt cues that only this head reads. "
                "Trained on with the critic seeing every image, real and generated, under a random flip and "
                f"quarter turn (setting `augment`, here {'on' if cfg.augment else 'off'}), it draws the asked-for "
                "class 92 % of the time (as the shipped galaxy classifier judges it).")
    if model == "wgan-gp":
        return (f"E[D(x)] − E[D(x̃)] estimates the Wasserstein-1 (earth mover's) distance between real "
                f"images x and generated x̃ when D is 1-Lipschitz. The gradient penalty with "
                f"λ = {cfg.gp_lambda:g} pulls the norm of D's gradient towards 1 at random points x̂ on "
                f"the line between a real and a fake image (one ε per image). D takes {cfg.n_critic} "
                "steps per G step, and has no BatchNorm (the penalty is per image). The **Wasserstein "
                "estimate** is the curve to watch: it falls as the samples improve (Gulrajani et al. 2017).")
    return (f"The same critic game as WGAN-GP, with the penalty (k/2)·E[‖∇D‖ᵖ] taken at the real and at "
            f"the generated images, k = {cfg.div_k:g} and p = {cfg.div_p:g} (Wu et al. 2018): no target "
            f"norm of 1 and no interpolates. D takes {cfg.n_critic} steps per G step. As for WGAN-GP, the "
            "**Wasserstein estimate** is the curve to watch.")


BF16_NOTE = ("The lower times are for CPUs that compute bfloat16 natively (AVX512-BF16 or AMX), where "
             "training runs the convolutions in bfloat16 (setting `precision`). Other programs on the "
             "same cores slow it down. ")


def ema_text(decay: float) -> str:
    if decay <= 0:
        return ("The samples come from the generator as it is at each step (setting `ema_decay` 0), so "
                "collapse shows the moment it happens. ")
    return (f"The samples come from a moving average of the generator's weights (setting `ema_decay` "
            f"{decay:g}: roughly the mean of the last {round(1 / (1 - decay)):,} steps), which smooths "
            "the swings of the adversarial game; the critic trains against the generator itself. ")


def shipped_run(model: str, steps: int) -> str:
    """'3,000 generator steps', or where pretrain kept the best validation, which step of how many."""
    try:
        step = int(read_meta(gan.shipped_file(model))["step"])
    except (OSError, CheckpointError, KeyError, TypeError, ValueError):
        step = steps
    if step == steps:
        return f"{steps:,} generator steps"
    return f"the weights at step {step:,} (its best validation) of a {steps:,}-step run"


def expectations(model: str, task_cls) -> str:
    plan = task_cls.pretrain_plan()[0]
    final = plan.final_settings
    default_batch = task_cls.Config().batch_size
    batch, first_batch = final.get("batch_size", default_batch), plan.settings.get("batch_size", default_batch)
    batches = f"batch {batch}" if batch == first_batch else f"batch {first_batch}, then {batch} in its last stage"
    shipped = (ema_text(task_cls.Config().ema_decay)
               + f"The shipped checkpoint is 64 px, {shipped_run(model, final['steps'])} at {batches}"
               + (f", drawn by a moving average of its generator (decay {final['ema_decay']:g})"
                  if final.get("ema_decay") else "")
               + f" (`python -m autoenc pretrain {model}`, on one core: {task_cls.pretrain_duration}).")
    if model in ("wgan-gp", "wgan-div"):
        return ("On a 2-core CPU a 32 px step (5 critic steps with a double backward pass for the penalty, "
                "then one generator step, batch 64) takes about 0.4–2 s, so a 5-minute run is 150–700 "
                "steps: blurry blobs on a dark sky come first, galaxy-like shapes later. At 64 px a step "
                "takes 2 s or more. " + BF16_NOTE + shipped)
    return ("On a 2-core CPU a 32 px step (batch 64) takes about 0.07–0.3 s, so a 5-minute run is "
            "1,000–4,000 steps: blurry bright blobs on a dark sky come first, galaxy-like shapes with "
            "colour later; arms and bars need far longer. At 64 px a step takes about 0.3–0.5 s. "
            + BF16_NOTE + shipped)


# -- cached models and images -------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=8)
def trained_model(path: str, mtime: float, model: str):
    """Rebuilt from the file; keyed by mtime so a run's newer checkpoint is read again. Read only."""
    return load_trained(Path(path), model)


@st.cache_data(show_spinner=False, max_entries=64)
def sample_images(path: str, mtime: float, model: str, seed: int, label: int | None) -> np.ndarray:
    g = gan.sampling_generator(trained_model(path, mtime, model).modules)
    return gan.generate(g, N_SAMPLES, seed, labels=label)


@st.cache_data(show_spinner=False, max_entries=16)
def class_row_images(path: str, mtime: float, model: str, seed: int) -> np.ndarray:
    g = gan.sampling_generator(trained_model(path, mtime, model).modules)
    return gan.class_rows(g, SAMPLE_COLS, seed)


@st.cache_resource(show_spinner=False, max_entries=4)
def heldout_judge(path: str, mtime: float, image_size: int):
    return gan.heldout_judge(gan.load_judge_classifier(path), image_size)


@st.cache_data(show_spinner=False, max_entries=16)
def measure_model(path: str, mtime: float, model: str, seed: int) -> dict:
    g = gan.sampling_generator(trained_model(path, mtime, model).modules)
    judge_path = gan.judge_file()
    judge = heldout_judge(str(judge_path), judge_path.stat().st_mtime, g.image_size)
    return gan.evaluate_generator(g, MEASURE_N, seed, judge=judge)


def show_grid(images: np.ndarray, ncols: int, caption: str | None = None) -> None:
    """A grid of samples, scaled up by a whole factor (sharp pixels, not a browser blur)."""
    grid = gan.image_grid(images, ncols)
    factor = max(1, DISPLAY_WIDTH // grid.shape[1])
    st.image(grid.repeat(factor, 0).repeat(factor, 1), caption=caption, output_format="PNG")


def classifier_missing() -> bool:
    if gan.judge_file().exists():
        return False
    st.info(f"The galaxy classifier that judges the samples (`checkpoints/{gan.judge_file().name}`) is not "
            "there yet, so nothing is measured: make it with `python -m autoenc pretrain classifier`. "
            "Training works without it.", icon=":material/info:")
    return True


# -- the page --------------------------------------------------------------------------------

def gan_page(model: str) -> None:
    spec = MODELS[model]
    task_cls = spec.task_class()
    cfg = task_cls.Config()
    st.title(spec.title)
    st.markdown(INTRO[model])

    st.subheader("The loss")
    for formula in gan.loss_formulas(task_cls):
        st.latex(formula)
    st.markdown(loss_text(model, cfg))
    st.info(expectations(model, task_cls), icon=":material/timer:")

    store = get_store()
    if store is None:
        st.stop()
    shown = training_section(store, model, task_cls)
    source = samples_section(store, model, shown)
    collapse_section(store, model, shown, source)


def training_section(store: RunStore, model: str, task_cls) -> Run | None:
    st.subheader("Train it live")
    cfg = task_cls.Config()
    c = st.columns(5)
    size = c[0].selectbox("Image size (px)", (32, 64), key=f"{model}_size",
                          help="32 px trains about 4 times faster; the shipped checkpoints are 64 px")
    steps = c[1].number_input("Steps", value=cfg.steps, step=100, key=f"{model}_steps",
                              help="generator steps; training stops at the time limit if that comes first")
    limit = c[2].number_input("Time limit (s)", min_value=5, max_value=24 * 3600, value=300, step=30,
                              key=f"{model}_limit")
    n_images = c[3].number_input("Training images", value=cfg.n_images, step=500, key=f"{model}_n_images",
                                 help="rendered once per size and cached on disk")
    seed = c[4].number_input("Seed", value=0, step=1, key=f"{model}_seed")

    runs = store.list(model=model)
    by_id = {r.id: r for r in runs}
    run_key, pending = f"{model}_run", f"_{model}_new_run"
    if pending in st.session_state:               # a run started last time: show it
        st.session_state[run_key] = st.session_state.pop(pending)
    if st.session_state.get(run_key) not in by_id:
        st.session_state.pop(run_key, None)
    shown = None
    if runs:
        shown = by_id[st.selectbox("Run shown", list(by_id), key=run_key)]

    data = training_data(store)

    def start():
        settings = {"image_size": int(size), "steps": int(steps), "n_images": int(n_images), "seed": int(seed),
                    "data": data}
        st.session_state[pending] = launcher.start_run(store, model, settings, max_seconds=float(limit))

    run_controls(store, shown, start, key=model)
    if shown is None:
        st.info(f"No {MODELS[model].title} run yet: press **Train**. The samples below come from the "
                "shipped checkpoint when it is there.", icon=":material/play_circle:")
        return None
    left, right = st.columns([3, 2])
    with left:
        title = "Losses" + (" and the Wasserstein estimate" if "wasserstein" in task_cls.chart_metrics else "")
        live_chart(store, shown.id, task_cls.chart_metrics, key=f"{model}_loss", title=title, log_y=False,
                   labels=LOSS_LABELS)
    with right:
        live_grid(store, shown, task_cls)
    return shown


def best_label(path: Path) -> str:
    """'best class-mix TV 0.041 (step 2,450)' from a kept-best checkpoint's header."""
    try:
        meta = read_meta(path)
        sel = meta["selected_by"]
        name = {"tv_distance": "class-mix TV", "class_accuracy": "class accuracy"}.get(sel["metric"], sel["metric"])
        return f"best {name} {sel['value']:.3f} (step {meta['step']:,})"
    except (CheckpointError, KeyError, TypeError, ValueError):
        return "best"


def live_grid(store: RunStore, run: Run, task_cls) -> None:
    """The run's latest grid from its fixed z; polls only while the run is active."""
    rows_note = ("one row per class, the same z down each column" if task_cls.n_classes
                 else "the same 16 z all along")

    @st.fragment(run_every=GRID_SECONDS if run.active else None)
    def grid():
        latest = store.latest_sample(run.id, "grid")
        if latest is None:
            st.caption("The first samples appear a few seconds after the run starts training.")
            return
        step, image = latest
        factor = max(1, 420 // image.shape[1])
        st.image(image.repeat(factor, 0).repeat(factor, 1), caption=f"Step {step:,}: {rows_note}",
                 output_format="PNG")
    grid()


def samples_section(store: RunStore, model: str, shown: Run | None) -> tuple[Path, float] | None:
    """32 samples from the shipped checkpoint or the shown run's; returns the (path, mtime) used."""
    st.subheader(f"{N_SAMPLES} random samples")
    sources: dict[str, Path] = {}
    shipped = gan.shipped_file(model)
    if shipped.exists():
        sources["shipped 64 px checkpoint"] = shipped
    if shown is not None and shown.checkpoint_step and store.checkpoint_path(shown.id).exists():
        sources[f"run {shown.id}"] = store.checkpoint_path(shown.id)
    best = store.best_checkpoint_path(shown.id) if shown is not None else None
    if best is not None and best.exists():
        sources[f"run {shown.id}, best"] = best
    if not sources:
        st.info(f"No checkpoint to draw from yet: the shipped `{shipped.name}` is not there (make it with "
                f"`python -m autoenc pretrain {model}`), and no run shown here has saved one. A run saves "
                "a checkpoint when it stops and every few hundred steps.", icon=":material/info:")
        return None
    source_key = f"{model}_source"
    if st.session_state.get(source_key) not in sources:
        st.session_state.pop(source_key, None)
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = c1.radio("Draw from", list(sources), horizontal=True, key=source_key)
    seed_key = f"{model}_sample_seed"
    seed = c2.number_input("Sample seed", value=0, step=1, key=seed_key)

    def new_seed():
        st.session_state[seed_key] = random.randrange(10_000)
    c3.button("New samples", icon=":material/casino:", key=f"{model}_new_samples", on_click=new_seed)

    path = sources[name]
    mtime = path.stat().st_mtime
    if path == best:
        st.caption(f"The weights where the run measured its {best_label(path)}, among its "
                   "validations in the last third of its steps.")
    try:
        trained = trained_model(str(path), mtime, model)
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
                         horizontal=True, key=f"{model}_class")
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{CLASS_NAMES[label]}**, {N_SAMPLES} samples")
            show_grid(sample_images(str(path), mtime, model, int(seed), int(label)), SAMPLE_COLS,
                      f"{name} ({about}), seed {int(seed)}")
        with right:
            st.markdown("**One row per class, the same z in each column**")
            show_grid(class_row_images(str(path), mtime, model, int(seed)), SAMPLE_COLS,
                      " · ".join(f"row {i + 1}: {c}" for i, c in enumerate(CLASS_NAMES)))
        st.caption("The same seed gives the same z for every class, so changing the class changes only what "
                   "the class embedding adds: the galaxy's type, ideally, and not its size or position.")
    else:
        show_grid(sample_images(str(path), mtime, model, int(seed), None), SAMPLE_COLS,
                  f"{name} ({about}), seed {int(seed)}")
    return path, mtime


def collapse_section(store: RunStore, model: str, shown: Run | None, source: tuple[Path, float] | None) -> None:
    st.subheader("Mode collapse, measured")
    st.markdown(
        "A GAN **collapses** when its generator finds a few images that fool the critic and draws little "
        "else: every z gives nearly the same galaxy, or one class crowds out the others. Each sample can "
        "still look good, so it shows in measures of the whole set, made with the shipped galaxy "
        "classifier: the **class histogram** of the samples skews away from the data's, and **coverage** "
        "(the share of real galaxies with a generated one among their 5 nearest neighbours, in the "
        "classifier's feature space) falls, while **precision** (the share of samples that look like some "
        "real galaxy) stays high. **KID** (kernel inception distance on the same features) is near 0 when "
        "the two sets match.")
    if classifier_missing():
        return
    if shown is not None:
        run_measures(store, shown, model)
    if source is not None:
        path, mtime = source
        if st.button(f"Measure the sampled model ({MEASURE_N} samples)", icon=":material/analytics:",
                     key=f"{model}_measure"):
            st.session_state[f"{model}_measured"] = (str(path), mtime)
        if st.session_state.get(f"{model}_measured") == (str(path), mtime):
            try:
                with st.spinner("Generating and judging samples…"):
                    m = measure_model(str(path), mtime, model, 0)
            except UserError as e:
                st.error(str(e))
                return
            st.markdown(f"**The sampled model**: {m['n']} samples against the classifier's {HELDOUT_SIZE} "
                        "held-out renders")
            measures_view(m, f"{MEASURE_N} samples", key=f"{model}_measured")


def run_measures(store: RunStore, run: Run, model: str) -> None:
    """The run's logged evaluations: the latest histogram, and coverage / KID over training."""
    @st.fragment(run_every=EVAL_SECONDS if run.active else None)
    def view():
        rows, _ = store.metrics_since(run.id)
        series: dict[str, tuple[list, list]] = {}
        for step, name, value in rows:
            if name in gan.EVAL_METRICS and value is not None:
                xs, ys = series.setdefault(name, ([], []))
                xs.append(step)
                ys.append(value)
        if "coverage" not in series:
            every = run.config.get("eval_every", "?")
            st.caption(f"Run {run.id} has no evaluation yet: it measures 256 samples every {every} steps.")
            return
        latest = {name: ys[-1] for name, (xs, ys) in series.items()}
        step = series["coverage"][0][-1]
        st.markdown(f"**Run {run.id}**, latest evaluation at step {step:,} ({gan.EVAL_SAMPLES} samples from a "
                    "fixed z against the training images)")
        measures_view(gan.metrics_to_measures(latest), f"step {step:,}", key=f"{model}_run", series=series)
    view()


def measures_view(m: dict, label: str, key: str, series: dict | None = None) -> None:
    """Histogram beside the data's, the numbers, a verdict, and curves over training if given."""
    left, right = st.columns(2)
    fig = go.Figure()
    fig.add_bar(x=list(CLASS_NAMES), y=m["class_histogram"], name=f"generated ({label})",
                marker_color=CLASS_COLOURS[1])
    fig.add_bar(x=list(CLASS_NAMES), y=m["data_class_histogram"], name="data", marker_color=CLASS_COLOURS[0])
    fig.update_layout(title="Class histogram", barmode="group", height=300, yaxis_title="share",
                      yaxis_range=[0, 1], margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2))
    left.plotly_chart(fig, width="stretch", key=f"{key}_hist")
    with right:
        cols = st.columns(3)
        cols[0].metric("Coverage", f"{m['coverage']:.2f}", help="higher is better; collapse pulls it down")
        cols[1].metric("Precision", f"{m['precision']:.2f}" if "precision" in m else "-")
        cols[2].metric("KID", f"{m['kid']:.3f}", help="lower is better; 0 when the feature sets match")
        cols = st.columns(3)
        cols[0].metric("TV distance", f"{m['tv_distance']:.2f}", help="between the two class histograms, 0 to 1")
        if "class_accuracy" in m:
            cols[1].metric("Class accuracy", f"{m['class_accuracy']:.0%}",
                           help="share of samples the classifier puts in the class asked for")
        signs = gan.collapse_signs(m)
        if signs:
            st.warning("Signs of mode collapse: " + "; ".join(signs) + ".", icon=":material/warning:")
        else:
            st.success(f"No sign of mode collapse (TV distance ≤ {gan.COLLAPSE_TV}, coverage ≥ "
                       f"{gan.COLLAPSE_COVERAGE}).", icon=":material/check_circle:")
    if series:
        curves = go.Figure()
        for name in ("coverage", "precision", "class_accuracy"):
            if name in series:
                curves.add_scatter(x=series[name][0], y=series[name][1], mode="lines+markers", name=CURVE_LABELS[name])
        shown = [CURVE_LABELS[n] for n in ("coverage", "precision", "class_accuracy") if n in series]
        curves.update_layout(title=(", ".join(shown[:-1]) + " and " + shown[-1]).capitalize() + " over training", height=280, xaxis_title="step", yaxis_range=[0, 1.05],
                             margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.3))
        kid_fig = go.Figure()
        kid_fig.add_scatter(x=series["kid"][0], y=series["kid"][1], mode="lines+markers", name="KID")
        kid_fig.update_layout(title="KID over training (lower is better)", height=280, xaxis_title="step",
                              margin=dict(l=10, r=10, t=40, b=10))
        c1, c2 = st.columns(2)
        c1.plotly_chart(curves, width="stretch", key=f"{key}_coverage")
        c2.plotly_chart(kid_fig, width="stretch", key=f"{key}_kid")
