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
    few = {"gan": 2, "acgan": 1, "wgan-gp": 1, "wgan-div": 1}
    monkeypatch.setattr(gan_bench, "TIMED_STEPS", {32: few, 64: few})
    monkeypatch.setattr(gan_bench, "metrics_overhead", lambda kind: 0.0)
    monkeypatch.setattr(gan_bench, "TASKS", {k: gan_bench.TASKS[k] for k in ("gan", "wgan-gp")})
    records = {r.name: r for r in gan_bench.benchmarks(sizes=(32,))}
    for kind in ("gan", "wgan-gp"):
        for name in (f"gan.steps_per_s.{kind}.32", f"gan.speedup_vs_reference.{kind}.32",
                     f"gan.speedup_fp32_vs_reference.{kind}.32"):
            r = records[name]
            assert r.n == 2 and r.spread is not None and r.spread >= 0 and r.value > 0, r
            assert r.as_json()["n"] == 2


def test_checkpoint_overhead_is_a_share_of_training_at_the_page_settings():
    share, write_s, step_s = checkpoint_overhead("denoiser", PAGE_SETTINGS["denoiser"])
    assert 0 < share < 1 and write_s > 0 and step_s > 0
