"""The loop reads a step's losses back in batches (train/loss_log.py): about once a second,
not once a step, and still names the step where a run diverged."""
import math

import torch

from autoenc.runs.store import RunStore
from autoenc.train import loop
from autoenc.train.loss_log import LossLog
from tests.seventh.task import TinyConfig, TinyTask


def test_a_read_adds_up_the_steps_and_stops_at_the_first_that_is_not_finite():
    log = LossLog()
    for step in range(1, 6):
        log.add(step, {"loss": torch.tensor(float(step)), "kl": 1.0})
    assert log.read() is None
    assert log.take_means() == {"loss": 3.0, "kl": 1.0} and log.take_means() == {}
    log.add(6, {"loss": torch.tensor(2.0), "kl": 1.0})
    log.add(7, {"loss": torch.tensor(4.0), "kl": math.inf})
    log.add(8, {"loss": torch.tensor(math.nan), "kl": 1.0})
    bad = log.read()
    assert (bad.step, bad.name, bad.value) == (7, "kl", math.inf)
    assert log.take_means() == {"loss": 2.0, "kl": 1.0}, "the steps before it, not after"
    log.add(9, {"loss": torch.tensor(1.0)})
    assert log.read() == bad and not log.unlogged, "nothing after a divergence is kept"


def test_the_loop_reads_the_losses_once_a_flush_not_once_a_step(tmp_path, monkeypatch):
    reads = []
    real_read = LossLog.read

    def counting_read(self):
        if self.pending:
            reads.append(len(self.pending))
        return real_read(self)

    monkeypatch.setattr(LossLog, "read", counting_read)
    monkeypatch.setattr(loop, "FLUSH_SECONDS", 0.2)
    store = RunStore(tmp_path)
    cfg = TinyConfig(steps=100_000, checkpoint_every=100_000, eval_every=100_000, snapshot_seconds=100.0)
    rid = store.create_run("tiny", {"steps": cfg.steps}, total_steps=cfg.steps)
    outcome = loop.train(TinyTask(cfg, "cpu"), store, rid, total_steps=cfg.steps, max_seconds=1.5)
    assert outcome.status == "stopped" and outcome.step > 200
    assert sum(reads) == outcome.step, "every step's losses read back, once"
    assert len(reads) <= 1.5 / 0.2 + 3, f"{len(reads)} reads for {outcome.step} steps"
    steps, values = store.metric_series(rid, "loss")
    assert len(steps) == len(reads) and all(math.isfinite(v) for v in values)
