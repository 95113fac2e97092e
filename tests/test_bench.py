"""The benchmark's records say how they were measured (issue 21, item 3: n and spread), and
the checkpoint records of issue 20 exist for every model a page trains. Figures are printed
by `python -m autoenc bench`, never asserted here."""
import pytest

from autoenc.bench import gan as gan_bench
from autoenc.bench.runs import checkpoint_overhead
from autoenc.runs.page_defaults import PAGE_SETTINGS


@pytest.mark.slow
def test_gan_figures_are_medians_of_rounds_with_their_spread(monkeypatch):
    monkeypatch.setattr(gan_bench, "ROUNDS", 2)
    monkeypatch.setattr(gan_bench, "ROUND_SECONDS", 0.0)      # the fewest steps a round times
    monkeypatch.setattr(gan_bench, "MIN_TIMED_STEPS", 1)
    monkeypatch.setattr(gan_bench, "metrics_overhead", lambda kind: 0.0)
    monkeypatch.setattr(gan_bench, "critic_view_overhead", lambda kind: gan_bench.Record(kind, 0.0, "share"))
    monkeypatch.setattr(gan_bench, "step_latencies", lambda: [0.5])        # Chromium: the browser tests
    monkeypatch.setattr(gan_bench, "TASKS", {k: gan_bench.TASKS[k] for k in ("gan", "wgan-gp")})
    records = {r.name: r for r in gan_bench.benchmarks(sizes=(32,))}
    for kind in ("gan", "wgan-gp"):
        for name in (f"gan.steps_per_s.{kind}.32", f"gan.speedup_vs_reference.{kind}.32",
                     f"gan.speedup_fp32_vs_reference.{kind}.32"):
            r = records[name]
            assert r.n == 2 and r.spread is not None and r.spread >= 0 and r.value > 0, r
            assert r.as_json()["n"] == 2


def test_a_round_times_steps_for_its_seconds_within_bounds(monkeypatch):
    monkeypatch.setattr(gan_bench, "ROUND_SECONDS", 1.5)
    assert gan_bench.steps_per_round(0.05) == 30  # 1.5 s of 0.05 s steps
    assert gan_bench.steps_per_round(2.0) == gan_bench.MIN_TIMED_STEPS
    assert gan_bench.steps_per_round(1e-4) == gan_bench.steps_per_round(0.0) == gan_bench.MAX_TIMED_STEPS


def test_checkpoint_overhead_is_a_share_of_training_at_the_page_settings():
    share, write_s, step_s = checkpoint_overhead("denoiser", PAGE_SETTINGS["denoiser"])
    assert 0 < share < 1 and write_s > 0 and step_s > 0


@pytest.mark.slow
def test_time_to_quality_stops_the_clock_at_the_goal_and_pauses_it_to_measure(monkeypatch):
    from autoenc.bench import quality
    monkeypatch.setattr(quality, "VAE_TOLERANCE", 100.0)        # any trained VAE is within it
    trace = quality.time_to_quality("vae", {"n_images": 64}, budget_s=30, check_every_s=1.0)
    assert trace.seconds is not None and len(trace.checks) == 1
    seconds, step, figures = trace.checks[0]
    assert trace.seconds == seconds and 1.0 <= seconds < 10 and step > 0 and figures["recon_mse"] > 0


@pytest.mark.slow
def test_time_to_quality_gives_up_at_its_budget_with_each_held_out_measure():
    from autoenc.bench import quality
    trace = quality.time_to_quality("gan", {"n_images": 64}, budget_s=2.0, check_every_s=1.0)
    assert trace.seconds is None
    assert [round(t) for t, _, _ in trace.checks] == [1, 2]
    assert trace.checks[0][1] < trace.checks[1][1]
    assert set(trace.checks[-1][2]) == {"tv_distance", "coverage"}


def test_quality_records_are_named_by_model_and_only_selects_among_them(monkeypatch):
    from autoenc.bench import quality, run_benchmarks
    timed = []
    monkeypatch.setattr(quality, "time_to_quality", lambda model: timed.append(model) or
                        quality.Trace(model, {}, [(40.0, 800, {}), (42.0, 840, {})] if model == "acgan" else [],
                                      42.0 if model == "acgan" else None))
    records = {r.name: r for r in run_benchmarks("acgan.train_s")}
    assert timed == ["acgan"]
    assert records["acgan.train_s_to_quality"].value == 42.0 and records["acgan.train_s_to_quality"].ok
    # the steps to the goal, which do not follow the machine's pace, and that pace
    assert records["acgan.train_s_to_quality.steps"].value == 840
    assert records["acgan.train_s_to_quality.steps_per_s"].value == 20.0
    timed.clear()
    records = {r.name: r for r in quality.benchmarks("wgan")}
    assert timed == ["wgan-gp", "wgan-div"]
    r = records["wgan-gp.train_s_to_quality"]
    assert r.value == quality.BUDGET_S and not r.ok and records["wgan-gp.train_s_to_quality.reached"].value == 0
    assert "wgan-gp.train_s_to_quality.steps" not in records       # a run with no check has no steps


def test_the_critic_views_cost_is_a_share_of_the_training_between_two_grids():
    r = gan_bench.critic_view_overhead("wgan-gp", timed=2)
    assert r.name == "gan.critic_view_overhead.wgan-gp" and r.n == 2 and r.target == 0.10
    assert 0 < r.value < 1 and not r.higher_is_better


def test_mae_figures_are_medians_of_rounds_with_their_spread(monkeypatch):
    from autoenc.bench import mae as mae_bench
    monkeypatch.setattr(mae_bench, "ROUNDS", 2)
    monkeypatch.setattr(mae_bench, "steps_per_round", lambda warmup_s: 1)
    records = list(mae_bench.benchmarks(sizes=(32,)))
    assert [r.name for r in records] == ["mae.steps_per_s.32"]
    assert records[0].n == 2 and records[0].spread >= 0 and records[0].value > 0
