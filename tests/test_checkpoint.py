import json
import pickle

import pytest
import torch

from autoenc.errors import CheckpointError
from autoenc.runs.checkpoint import load_checkpoint, read_meta, save_checkpoint


def test_round_trip_keeps_tensors_and_meta(tmp_path):
    path = tmp_path / "c.safetensors"
    tensors = {"model.w": torch.arange(6.0).reshape(2, 3), "optim.adam.0.step": torch.tensor(7.0)}
    save_checkpoint(path, tensors, {"model": "denoiser", "config": {"lr": 0.001}, "step": 42})
    loaded, meta = load_checkpoint(path, expect_model="denoiser")
    assert set(loaded) == set(tensors)
    assert torch.equal(loaded["model.w"], tensors["model.w"])
    assert meta["step"] == 42 and meta["config"] == {"lr": 0.001} and meta["model"] == "denoiser"
    assert read_meta(path)["step"] == 42
    assert not list(tmp_path.glob("*.tmp")), "no temp file left behind"


def test_overwrite_is_atomic_replace(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"w": torch.zeros(3)}, {"model": "m", "config": {}, "step": 1})
    save_checkpoint(path, {"w": torch.ones(3)}, {"model": "m", "config": {}, "step": 2})
    t, meta = load_checkpoint(path)
    assert meta["step"] == 2 and torch.equal(t["w"], torch.ones(3))


def test_other_model_is_refused(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"w": torch.zeros(1)}, {"model": "vae", "config": {}, "step": 0})
    with pytest.raises(CheckpointError, match="checkpoint of 'vae', not of 'denoiser'"):
        load_checkpoint(path, expect_model="denoiser")


class Payload:
    def __reduce__(self):
        return (open, ("/tmp/autoenc_pickle_ran", "w"))


@pytest.mark.parametrize("content", [
    b"", b"garbage", b"\xff" * 100,
    pickle.dumps(Payload()),
    (8).to_bytes(8, "little") + b"{notjson",
])
def test_bad_files_give_a_clear_error_and_never_unpickle(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not an autoenc checkpoint|not a checkpoint|corrupt"):
        load_checkpoint(path)
    assert not (tmp_path / "autoenc_pickle_ran").exists()
    import os
    assert not os.path.exists("/tmp/autoenc_pickle_ran")


def test_truncated_checkpoint_is_reported_corrupt(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, {"w": torch.randn(1000)}, {"model": "m", "config": {}, "step": 3})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


def test_plain_safetensors_without_our_header_is_refused(tmp_path):
    from safetensors.torch import save_file
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"x": json.dumps(1)})
    with pytest.raises(CheckpointError, match="not an autoenc checkpoint"):
        load_checkpoint(path)
