"""Runs side by side (the Compare page): which ones a link names, their curves by step or by
wall time, the settings that differ between them, their final measures, and the race of the
article's three GAN losses from the same seed, data and image size.
"""
from __future__ import annotations

from autoenc.errors import UserError
from autoenc.registry import MODELS, get_model
from autoenc.runs import history, launcher
from autoenc.runs.page_defaults import PAGE_RECIPE, PAGE_TIME_LIMIT
from autoenc.runs.run import Run
from autoenc.runs.store import RunStore

MIN_RUNS, MAX_RUNS = 2, 4
RACE = ("gan", "wgan-gp", "wgan-div")
# What a run measured, in the order a table lists them; a run has those its model logs.
FINAL_MEASURES = ("tv_distance", "coverage", "precision", "kid", "class_accuracy", "val_peak_accuracy",
                  "val_snr_gain_db", "val_loss", "val_recon", "val_kl")
# Settings the run machinery fills in and a comparison need not show.
NOT_COMPARED = ("checkpoint_every", "checkpoint_seconds", "snapshot_seconds")
LAST_STEP = 2**62           # "at or before" this step: a run's latest values


def parse_run_ids(text: str | None) -> list[str]:
    """'A,B' (a link's ?runs=) -> ['A', 'B'], blanks and repeats dropped."""
    out: list[str] = []
    for part in (text or "").split(","):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def known_runs(store: RunStore, ids: list[str]) -> tuple[list[Run], list[str]]:
    """The runs among ids that this store holds (in the given order), and the unknown ids."""
    by_id = {r.id: r for r in store.list()}
    return [by_id[i] for i in ids if i in by_id], [i for i in ids if i not in by_id]


def settings_diff(runs: list[Run]) -> dict[str, list]:
    """setting -> one value per run, for the settings that differ (the model first, if it does);
    a setting a run's model lacks is None for it."""
    keys = sorted({k for r in runs for k in r.config} - set(NOT_COMPARED))
    rows = {"model": [r.model for r in runs]}
    rows.update({k: [r.config.get(k) for r in runs] for k in keys})
    return {k: v for k, v in rows.items() if len({repr(x) for x in v}) > 1}


def curves(store: RunStore, run: Run, names) -> dict[str, tuple[list[int], list[float], list[float]]]:
    """name -> (steps, values, seconds since the run's first logged row) for the named metrics."""
    wanted = list(names)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    with store.connect() as db:
        rows = db.execute(f"SELECT step, name, value, time FROM metrics WHERE run_id=? AND name IN ({marks}) "
                          "AND value IS NOT NULL ORDER BY seq", (run.id, *wanted)).fetchall()
        start = db.execute("SELECT MIN(time) FROM metrics WHERE run_id=?", (run.id,)).fetchone()[0] or 0.0
    out: dict[str, tuple[list, list, list]] = {}
    for r in rows:
        steps, values, seconds = out.setdefault(r["name"], ([], [], []))
        steps.append(r["step"])
        values.append(r["value"])
        seconds.append(r["time"] - start)
    return out


def logged_names(store: RunStore, runs: list[Run]) -> list[str]:
    """Every metric name any of the runs logged, the final measures first."""
    with store.connect() as db:
        names = {r[0] for run in runs for r in db.execute("SELECT DISTINCT name FROM metrics WHERE run_id=?",
                                                          (run.id,))}
    return [n for n in FINAL_MEASURES if n in names] + sorted(names - set(FINAL_MEASURES))


def final_measures(store: RunStore, runs: list[Run]) -> dict[str, list[float | None]]:
    """measure -> each run's last logged value (None where it has none), for the measures any
    run logged."""
    last = [history.metrics_at(store, run.id, LAST_STEP, FINAL_MEASURES) for run in runs]   # one query a run
    table = {}
    for name in FINAL_MEASURES:
        values = [float(m[name][1]) if name in m else None for m in last]
        if any(v is not None for v in values):
            table[name] = values
    return table


def history_sample(model: str) -> str:
    """The sample a model's history slider walks (its Task's `history_sample`)."""
    return get_model(model).task_class().history_sample


def start_race(store: RunStore, image_size: int, seed: int, data: str, n_images: int | None = None,
               max_seconds: float | None = None) -> list[str]:
    """GAN, WGAN-GP and WGAN-div, each with its page's recipe, from the same seed, data and
    image size, for the same time; they train side by side or queue, as the run limit allows."""
    for model in RACE:
        if model not in MODELS:
            raise UserError(f"the race needs the {model} model, which is not registered")
    limit = max_seconds if max_seconds is not None else PAGE_TIME_LIMIT["gan"]
    shared = {"image_size": int(image_size), "seed": int(seed), "data": data}
    if n_images is not None:
        shared["n_images"] = int(n_images)
    return [launcher.start_run(store, model, {**PAGE_RECIPE.get(model, {}), **shared}, max_seconds=float(limit))
            for model in RACE]


def race_summary(store: RunStore, runs: list[Run]) -> dict[str, str] | None:
    """Where the runs include one of each race model with evaluations: each one's class-mix TV
    over the second half of its evaluations (mean and its largest), for the page's sentence."""
    picked = {m: next((r for r in runs if r.model == m), None) for m in RACE}
    if any(r is None for r in picked.values()):
        return None
    out = {}
    for model, run in picked.items():
        _, tv = store.metric_series(run.id, "tv_distance")
        if not len(tv):
            return None
        late = tv[len(tv) // 2:]
        key = model.replace("-", "_")
        out[f"{key}_mean"], out[f"{key}_max"], out[f"{key}_n"] = f"{late.mean():.2f}", f"{late.max():.2f}", str(len(tv))
    return out
