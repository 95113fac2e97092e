"""`python -m autoenc pretrain`: a finished run becomes a weights-only shipped file; a stopped
or failed one leaves the shipped file as it was."""
import pytest

from autoenc.errors import CheckpointError
from autoenc.runs.checkpoint import load_checkpoint
from autoenc.train import pretrain as P
from autoenc.train.denoiser import DenoiserTask
from autoenc.train.loop import Outcome

TINY = {"noise": "uniform", "steps": 3, "n_train": 64, "n_val": 16, "batch_size": 8, "eval_every": 3}


@pytest.fixture
def tiny_plan(monkeypatch):
    monkeypatch.setattr(DenoiserTask, "pretrain_plan", classmethod(lambda cls: [P.PretrainItem("d.safetensors", TINY)]))


def test_a_finished_run_ships_weights_only(tmp_path, tiny_plan):
    (path, outcome), = list(P.pretrain("denoiser", out_dir=tmp_path))
    assert outcome.status == "finished" and path == tmp_path / "d.safetensors"
    tensors, meta = load_checkpoint(path, expect_model="denoiser")
    assert meta["step"] == 3 and meta["pretrained"] and meta["run_id"] is None
    assert tensors and not any(k.startswith("optim.") for k in tensors)
    assert P.load_trained(path, "denoiser").config.noise == "uniform"


@pytest.mark.parametrize("status", ["stopped", "failed"])
def test_a_stopped_or_failed_run_leaves_the_shipped_file_alone(tmp_path, tiny_plan, monkeypatch, status):
    shipped = tmp_path / "d.safetensors"
    shipped.write_bytes(b"the shipped weights")
    monkeypatch.setattr("autoenc.runs.worker.execute",
                        lambda store, model, settings, **kw: ("r1", Outcome(status, 2, "loss became nan")))
    with pytest.raises(CheckpointError, match=f"{status} at step 2.*unchanged"):
        list(P.pretrain("denoiser", out_dir=tmp_path))
    assert shipped.read_bytes() == b"the shipped weights"
