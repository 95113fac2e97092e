"""Training on a GPU: bfloat16 autocast, channels_last, batches that reach the device
without making the host wait, and no host syncs inside a step. The CUDA tests skip with a
reason where there is no GPU; the bf16 paths they take are also run here on the CPU."""
import subprocess
import sys

import pytest
import torch

from autoenc.registry import get_model
from autoenc.runs.checkpoint import load_checkpoint
from autoenc.runs.store import RunStore
from autoenc.train.loop import train
from autoenc.train.task import config_from_dict
from tests.conftest import ROOT
from tests.distributed_curves import SETTINGS

MODELS = tuple(SETTINGS)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
two_gpus = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="fewer than 2 CUDA devices on this machine")


def make_task(model: str, device: str, **extra):
    cls = get_model(model).task_class()
    settings = {**SETTINGS[model], **extra}
    if "precision" in cls.Config.__dataclass_fields__:
        settings.setdefault("precision", "auto")
    torch.manual_seed(0)
    return cls(config_from_dict(cls.Config, settings), torch.device(device))


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_under_bf16_autocast(model):
    """The arithmetic a GPU with bf16 trains in, here on the CPU (emulated, slow, but the
    same code): finite losses for each model, the VAE's fused loss included."""
    gan = model in ("gan", "acgan", "wgan-gp", "wgan-div")
    fp32 = make_task(model, "cpu", **({"precision": "fp32"} if gan else {}))
    bf16 = make_task(model, "cpu", **({"precision": "bf16"} if gan else {}))
    bf16.amp_dtype = torch.bfloat16
    a, b = fp32.train_step(1), bf16.train_step(1)
    assert a != b, "the bf16 step computed in bf16"
    scale = max(abs(v) for v in a.values())    # a difference of two scores (wasserstein) may be near 0
    for name in a:
        assert b[name] == pytest.approx(a[name], rel=0.1, abs=0.02 * scale), (name, a, b)
    assert torch.isfinite(torch.tensor(list(bf16.train_step(2).values()))).all()


@cuda
@pytest.mark.parametrize("model", MODELS)
def test_a_cuda_step_waits_for_nothing_on_the_host(model):
    task = make_task(model, "cuda")
    assert task.amp_dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else None) or hasattr(task, "critic")
    task.update(1)                      # the first step may sync (cuDNN picks its algorithms)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        losses = [task.update(step) for step in (2, 3, 4)]
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert all(v.is_cuda for x in losses for v in x.values()), "losses stay on the device until the loop reads them"
    assert all(torch.isfinite(torch.stack(list(x.values()))).all() for x in losses)


@cuda
def test_a_gan_on_cuda_trains_in_bf16_and_channels_last_and_its_checkpoint_loads_on_a_cpu(tmp_path):
    task = make_task("wgan-gp", "cuda")
    conv = next(m for m in task.critic.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    if torch.cuda.is_bf16_supported():
        assert task.critic.compute_dtype == torch.bfloat16
    store = RunStore(tmp_path)
    rid = store.create_run("wgan-gp", {}, total_steps=20)
    outcome = train(task, store, rid, total_steps=20)
    assert outcome.status == "finished" and outcome.step == 20
    tensors, meta = load_checkpoint(store.checkpoint_path(rid), expect_model="wgan-gp")
    assert meta["step"] == 20 and all(t.device.type == "cpu" for t in tensors.values())
    _, values = store.metric_series(rid, "loss_d")
    assert len(values) and torch.isfinite(torch.tensor(values)).all()


@two_gpus
def test_torchrun_trains_one_run_on_two_gpus_with_nccl(tmp_path):
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m", "autoenc",
                        "train", "wgan-gp", "--image-size", "32", "--n-images", "256", "--batch-size", "32",
                        "--steps", "20", "--device", "cuda", "--run-id", "nccl", "--home", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    run = RunStore(tmp_path).get("nccl")
    assert run.status == "finished" and run.step == 20 and run.processes == 2


def test_the_cuda_bench_says_where_there_is_no_gpu():
    from autoenc.bench import run_benchmarks
    records = {r.name: r for r in run_benchmarks("cuda")}
    if not torch.cuda.is_available():
        assert list(records) == ["cuda.available"] and records["cuda.available"].value == 0
        return
    steps = [r for name, r in records.items() if name.startswith("cuda.gan.steps_per_s.")]
    assert len(steps) == 8 and all(r.value > 0 and r.n == 5 and r.spread is not None for r in steps)
    assert records["cuda.vae.paper_images_per_s"].value > 0
