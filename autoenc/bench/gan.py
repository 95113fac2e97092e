"""GANs: steps per second against the reference loops (bench/gan_reference.py), in the
default precision and held to fp32, and what the live measures cost."""
from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import torch

from autoenc.bench import Record
from autoenc.bench.gan_reference import reference_loop
from autoenc.bench.step_latency import step_latencies
from autoenc.data.galaxy_set import N_CLASSES, GalaxySet
from autoenc.metrics.judge import EVAL_SAMPLES, Judge, judge_available, load_judge_classifier
from autoenc.reliability.browser import browser_missing
from autoenc.runs.page_defaults import page_config
from autoenc.train.classifier import ClassifierConfig, ClassifierTask
from autoenc.train.critic_view import CriticView
from autoenc.train.gan import TASKS
from autoenc.train.precision import compute_dtype

# Each round times every loop for about ROUND_SECONDS (the step count set from the warm-up
# steps' times, within MIN/MAX_TIMED_STEPS), after WARMUP_STEPS each; ROUNDS rounds. The first
# steps of a fresh net are slower (oneDNN builds its kernels for each shape). Each figure is
# the median over the rounds of each round's median (a ratio: of the two medians of one
# round), with the spread of the round figures. On this VM consecutive steps differ by up
# to 20 %: a median of a handful of 0.1 s steps moved by up to 40 % between two runs.
ROUND_SECONDS = 2.5
MIN_TIMED_STEPS, MAX_TIMED_STEPS = 4, 100
ROUNDS = 5
WARMUP_STEPS = 2


def steps_per_round(warmup_s: float) -> int:
    """Steps that fill ROUND_SECONDS at the warm-up's pace."""
    if warmup_s <= 0:
        return MAX_TIMED_STEPS
    return max(MIN_TIMED_STEPS, min(MAX_TIMED_STEPS, round(ROUND_SECONDS / warmup_s)))


def round_record(name: str, per_round: list[float], unit: str, **kw) -> Record:
    """A figure as the median of its per-round values, with their count and spread."""
    return Record(name, statistics.median(per_round), unit, n=len(per_round),
                  spread=max(per_round) - min(per_round), **kw)


def fake_galaxies(n: int, size: int, seed: int = 0) -> GalaxySet:
    """Random images for timing: the step's cost does not depend on what the pixels show."""
    rng = np.random.default_rng(seed)
    return GalaxySet(images=rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
                     labels=rng.integers(0, N_CLASSES, n).astype(np.int64))


def benchmarks(sizes: tuple[int, ...] = (32, 64)) -> Iterator[Record]:
    """gan.steps_per_s.<model>.<px>, gan.steps_per_s_reference.<model>.<px> (the reference
    loop's), gan.speedup_vs_reference.<model>.<px> (target 1.5),
    gan.speedup_fp32_vs_reference.<model>.<px> (the same task held to fp32), gan.bf16 (1 where
    the default precision "auto" chose bf16 on this CPU), gan.metrics_overhead.<model> and
    gan.critic_view_overhead.<model> (targets 0.10, lower is better), and gan.step_latency_s
    (target 1 s: a step-mode click to the new grid, in headless Chromium).

    Generator steps (each with its n_critic critic steps) at the default settings, batch
    64, ngf = ndf = 32, with torch's current thread count. The task's steps and the
    reference's alternate (ABCABC...), so a load that comes and goes hits all alike; each
    figure is the median of ROUNDS per-round medians (round_record), with n and spread.
    """
    cpu = torch.device("cpu")
    yield Record("gan.bf16", float(compute_dtype("auto", cpu) is not None), "")
    for px in sizes:
        data = fake_galaxies(256, px)
        for kind, cls in TASKS.items():
            torch.manual_seed(0)
            cfg = cls.Config(image_size=px)
            task = cls(cfg, cpu, data=data)
            task_fp32 = cls(replace(cfg, precision="fp32"), cpu, data=data)
            ref = reference_loop(kind, cfg, data.images, data.labels)
            loops = (("ours", task.train_step), ("fp32", task_fp32.train_step),
                     ("ref", lambda _n, ref=ref: ref.step()))
            step_no = 0
            for _ in range(WARMUP_STEPS):
                step_no += 1
                warm = []
                for _name, step in loops:
                    t0 = time.perf_counter()
                    step(step_no)
                    warm.append(time.perf_counter() - t0)
            n_steps = steps_per_round(statistics.median(warm))     # a loop's step, the last warm-up
            rounds: dict[str, list[float]] = {"ours": [], "fp32": [], "ref": []}
            for _ in range(ROUNDS):
                times: dict[str, list[float]] = {"ours": [], "fp32": [], "ref": []}
                for _ in range(n_steps):
                    step_no += 1
                    for name, step in loops:
                        t0 = time.perf_counter()
                        step(step_no)
                        times[name].append(time.perf_counter() - t0)
                for name, v in times.items():
                    rounds[name].append(statistics.median(v))
            yield round_record(f"gan.steps_per_s.{kind}.{px}", [1 / t for t in rounds["ours"]], "steps/s")
            # the yardstick's own pace: where two runs' steps/s differ, this says how much of it
            # was the machine (a VM's speed drifts by 10-20 % over minutes here)
            yield round_record(f"gan.steps_per_s_reference.{kind}.{px}", [1 / t for t in rounds["ref"]], "steps/s")
            yield round_record(f"gan.speedup_vs_reference.{kind}.{px}",
                               [a / b for a, b in zip(rounds["ref"], rounds["ours"])], "x", target=1.5)
            yield round_record(f"gan.speedup_fp32_vs_reference.{kind}.{px}",
                               [a / b for a, b in zip(rounds["ref"], rounds["fp32"])], "x")
    for kind in TASKS:
        yield Record(f"gan.metrics_overhead.{kind}", metrics_overhead(kind), "share", target=0.10,
                     higher_is_better=False)
    for kind in TASKS:
        yield critic_view_overhead(kind)
    why = browser_missing()
    if why:
        yield Record("gan.step_latency_s", float("nan"), why)
    else:
        times = step_latencies()
        yield Record("gan.step_latency_s", statistics.median(times), "s", target=1.0, higher_is_better=False,
                     n=len(times), spread=max(times) - min(times))


def critic_view_overhead(kind: str, timed: int = 5) -> Record:
    """gan.critic_view_overhead.<model> (target 0.10, lower is better): the critic's view taken
    with every live grid, as a share of the training between two grids (snapshot_seconds), at
    the page's settings; the median of `timed` views after one that builds the fixed batches."""
    cls = TASKS[kind]
    cfg = page_config(kind)
    torch.manual_seed(0)
    task = cls(cfg, torch.device("cpu"), data=fake_galaxies(256, cfg.image_size))
    task.train_step(1)
    view = CriticView(task)
    view.measure()
    times = []
    for _ in range(timed):
        t0 = time.perf_counter()
        view.measure()
        times.append(time.perf_counter() - t0)
    shares = [t / cfg.snapshot_seconds for t in times]
    return Record(f"gan.critic_view_overhead.{kind}", statistics.median(shares), "share", target=0.10,
                  higher_is_better=False, n=len(shares), spread=max(shares) - min(shares))


def metrics_overhead(kind: str, image_size: int = 32, timed_steps: int = 3, timed_evals: int = 2) -> float:
    """(time of a default-length run with validation) / (time without) - 1, at the live size.

    A run of eval_every steps takes minutes, so the parts are timed and added up: the median
    step, the median validation pass (after the first, which builds the judge) and the one
    judge build, for cfg.steps steps with cfg.steps // eval_every validations. The shipped
    classifier if it is there, else an untrained one of the same shape (the same cost).
    """
    cpu = torch.device("cpu")
    cls = TASKS[kind]
    cfg = cls.Config(image_size=image_size)
    data = fake_galaxies(max(EVAL_SAMPLES, cfg.batch_size), image_size)
    torch.manual_seed(0)
    task = cls(cfg, cpu, data=data)
    if judge_available():
        classifier = load_judge_classifier()
    else:
        classifier = ClassifierTask.build_modules(ClassifierConfig())["classifier"].eval()
    steps = []
    for i in range(1 + timed_steps):
        t0 = time.perf_counter()
        task.train_step(i + 1)
        if i:
            steps.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    task._judge = Judge(classifier, data, n_real=min(EVAL_SAMPLES, len(data)), data_labels=data.labels)
    t_build = time.perf_counter() - t0
    evals = []
    for _ in range(timed_evals):
        t0 = time.perf_counter()
        task.validate(cfg.eval_every)
        evals.append(time.perf_counter() - t0)
    n_evals = max(1, cfg.steps // cfg.eval_every)
    return (t_build + n_evals * statistics.median(evals)) / (cfg.steps * statistics.median(steps))
