"""`python -m autoenc pretrain`: a finished run becomes a weights-only shipped file; a stopped
or failed one leaves the shipped file as it was."""
import pytest

from autoenc.errors import CheckpointError
from autoenc.paths import shipped_path
from autoenc.registry import MODELS
from autoenc.runs.checkpoint import load_checkpoint, read_meta
from autoenc.train import pretrain as P
from autoenc.train.denoiser import DenoiserTask
from autoenc.train.loop import Outcome
from autoenc.train.task import PretrainItem, config_from_dict, config_to_dict
from autoenc.trained import load_trained

TINY = {"noise": "uniform", "steps": 3, "n_train": 64, "n_val": 16, "batch_size": 8, "eval_every": 3}


@pytest.fixture
def tiny_plan(monkeypatch):
    monkeypatch.setattr(DenoiserTask, "pretrain_plan", classmethod(lambda cls: [PretrainItem("d.safetensors", TINY)]))


def test_a_finished_run_ships_weights_only(tmp_path, tiny_plan):
    (path, outcome), = list(P.pretrain("denoiser", out_dir=tmp_path))
    assert outcome.status == "finished" and path == tmp_path / "d.safetensors"
    tensors, meta = load_checkpoint(path, expect_model="denoiser")
    assert meta["step"] == 3 and meta["pretrained"] and meta["run_id"] is None
    assert tensors and not any(k.startswith("optim.") for k in tensors)
    assert load_trained(path, "denoiser").config.noise == "uniform"


@pytest.mark.parametrize("status", ["stopped", "failed"])
def test_a_stopped_or_failed_run_leaves_the_shipped_file_alone(tmp_path, tiny_plan, monkeypatch, status):
    shipped = tmp_path / "d.safetensors"
    shipped.write_bytes(b"the shipped weights")
    monkeypatch.setattr(P, "execute",
                        lambda store, model, settings, **kw: ("r1", Outcome(status, 2, "loss became nan")))
    with pytest.raises(CheckpointError, match=f"{status} at step 2.*unchanged"):
        list(P.pretrain("denoiser", out_dir=tmp_path))
    assert shipped.read_bytes() == b"the shipped weights"


# -- keeping the best validation ------------------------------------------------------------------

class Scripted:
    """A task whose validation scores are scripted and whose one weight records the step."""

    def __new__(cls, scores: dict[int, float], lower: bool = True):
        import torch
        from torch import nn

        from autoenc.train.task import Task, TrainSettings

        class _Task(Task):
            name = "denoiser"
            best_metric = ("score", lower)

            def __init__(self):
                super().__init__(TrainSettings(eval_every=1, checkpoint_every=100), torch.device("cpu"))
                self.net = nn.Linear(1, 1, bias=False)

            def modules(self):
                return {"net": self.net}

            def update(self, step):
                with torch.no_grad():
                    self.net.weight.fill_(step)
                return {"loss": 1.0}

            def validate(self, step):
                return {"score": scores[step]} if step in scores else {}
        return _Task()


def _kept(store, run_id):
    tensors, meta = load_checkpoint(store.best_checkpoint_path(run_id), expect_model="denoiser")
    assert not any(k.startswith("optim.") for k in tensors)
    return int(tensors["model.net.weight"].item()), meta


def test_the_loop_keeps_the_best_validation_of_the_last_third(tmp_path):
    from autoenc.runs.store import RunStore
    from autoenc.train.loop import train
    store = RunStore(tmp_path)
    run_id = store.create_run("denoiser", {}, total_steps=9)
    # step 2 scores best of all, but it is in the first two thirds (steps 1-5): blurry early
    # GAN samples can score well by chance
    scores = {1: 0.9, 2: 0.01, 3: 0.5, 6: 0.4, 7: 0.2, 8: 0.3, 9: 0.25}
    outcome = train(Scripted(scores), store, run_id, total_steps=9)
    assert outcome.status == "finished" and store.checkpoint_path(run_id).exists()
    step, meta = _kept(store, run_id)
    assert step == 7 and meta["step"] == 7
    assert meta["selected_by"] == {"metric": "score", "value": 0.2, "lower_is_better": True}
    # resumed for 3 more steps: 0.3 does not beat the kept 0.2, 0.1 does
    train(Scripted({10: 0.3, 11: 0.1, 12: 0.15}), store, run_id, total_steps=12, start_step=9)
    assert _kept(store, run_id)[0] == 11
    train(Scripted({13: 0.5}), store, run_id, total_steps=13, start_step=12)
    assert _kept(store, run_id)[0] == 11


def test_higher_is_better_metrics_and_tasks_without_one(tmp_path):
    from autoenc.runs.store import RunStore
    from autoenc.train.loop import train
    store = RunStore(tmp_path)
    run_id = store.create_run("denoiser", {}, total_steps=3)
    train(Scripted({2: 0.7, 3: 0.6}, lower=False), store, run_id, total_steps=3)
    assert _kept(store, run_id)[0] == 2
    plain = Scripted({3: 0.1})
    type(plain).best_metric = None
    other = store.create_run("denoiser", {}, total_steps=3)
    train(plain, store, other, total_steps=3)
    assert not store.best_checkpoint_path(other).exists()


def test_pretrain_ships_the_kept_best_weights(tmp_path, tiny_plan, monkeypatch):
    """The denoiser keeps its best validation loss here (scripted to be the step-2 one)."""
    monkeypatch.setattr(DenoiserTask, "best_metric", ("val_loss", True))
    losses = iter([0.5, 0.1, 0.3])
    real_validate = DenoiserTask.validate
    monkeypatch.setattr(DenoiserTask, "validate",
                        lambda self, step: {**real_validate(self, step), "val_loss": next(losses)})
    plan = {**TINY, "eval_every": 1}
    monkeypatch.setattr(DenoiserTask, "pretrain_plan", classmethod(lambda cls: [PretrainItem("d.safetensors", plan)]))
    (path, outcome), = list(P.pretrain("denoiser", out_dir=tmp_path))
    _, meta = load_checkpoint(path, expect_model="denoiser")
    assert outcome.step == 3 and meta["step"] == 2 and meta["selected_by"]["value"] == 0.1
    assert meta["pretrained"] and meta["run_id"] is None


def test_later_stages_resume_the_run_with_their_settings(tmp_path, monkeypatch):
    """A staged plan trains one run: 3 steps, then resumed to 5 with another learning rate; the
    shipped file is the run's end (its weights continue the first stage's) with the final config."""
    item = PretrainItem("d.safetensors", TINY, then=({"steps": 5, "lr": 1e-4},))
    assert item.final_settings == {**TINY, "steps": 5, "lr": 1e-4}
    monkeypatch.setattr(DenoiserTask, "pretrain_plan", classmethod(lambda cls: [item]))
    seen = []
    real_step = DenoiserTask.update
    monkeypatch.setattr(DenoiserTask, "update",
                        lambda self, step: seen.append((step, self.config.lr)) or real_step(self, step))
    (path, outcome), = list(P.pretrain("denoiser", out_dir=tmp_path))
    assert outcome.status == "finished" and outcome.step == 5
    assert [s for s, _ in seen] == [1, 2, 3, 4, 5]                     # resumed, not restarted
    assert {lr for s, lr in seen if s <= 3} == {TINY.get("lr", 2e-3)} and {lr for s, lr in seen if s > 3} == {1e-4}
    _, meta = load_checkpoint(path, expect_model="denoiser")
    assert meta["step"] == 5 and meta["config"]["lr"] == 1e-4 and meta["config"]["steps"] == 5


def test_a_failed_stage_leaves_the_shipped_file_alone(tmp_path, monkeypatch):
    shipped = tmp_path / "d.safetensors"
    shipped.write_bytes(b"the shipped weights")
    item = PretrainItem("d.safetensors", TINY, then=({"steps": 5, "lr": 1e-4},))
    monkeypatch.setattr(DenoiserTask, "pretrain_plan", classmethod(lambda cls: [item]))
    real_execute = P.execute
    monkeypatch.setattr(P, "execute", lambda store, model, settings, **kw: (
        real_execute(store, model, settings, **kw) if not kw.get("resume") else (kw["run_id"], Outcome("failed", 4, "boom"))))
    with pytest.raises(CheckpointError, match="failed at step 4.*unchanged"):
        list(P.pretrain("denoiser", out_dir=tmp_path))
    assert shipped.read_bytes() == b"the shipped weights"


def test_a_stage_can_go_on_from_the_previous_best(tmp_path, monkeypatch):
    """from_best: the second stage starts from the step-2 weights kept as the first stage's best
    (steps 3, 4, 5 after them), with the shipped file the second stage's end."""
    monkeypatch.setattr(DenoiserTask, "best_metric", ("val_loss", True))
    losses = iter([0.5, 0.1, 0.3, 0.4, 0.45, 0.5])
    real_validate = DenoiserTask.validate
    monkeypatch.setattr(DenoiserTask, "validate",
                        lambda self, step: {**real_validate(self, step), "val_loss": next(losses)})
    item = PretrainItem("d.safetensors", {**TINY, "eval_every": 1},
                          then=({"steps": 5, "lr": 1e-4, "from_best": True},))
    assert item.final_settings == {**TINY, "eval_every": 1, "steps": 5, "lr": 1e-4}
    monkeypatch.setattr(DenoiserTask, "pretrain_plan", classmethod(lambda cls: [item]))
    seen = []
    real_step = DenoiserTask.update
    monkeypatch.setattr(DenoiserTask, "update",
                        lambda self, step: seen.append(step) or real_step(self, step))
    (path, outcome), = list(P.pretrain("denoiser", out_dir=tmp_path))
    assert seen == [1, 2, 3, 3, 4, 5]                   # step 3 again: the run went back to step 2
    _, meta = load_checkpoint(path, expect_model="denoiser")
    # the best of the run's last third (steps 4 and 5: 0.45, 0.5), not the first stage's 0.1
    assert outcome.step == 5 and meta["step"] == 4 and meta["selected_by"]["value"] == 0.45
    assert meta["config"]["lr"] == 1e-4 and "from_best" not in meta["config"]


# -- the plans remake the shipped files ----------------------------------------------------------

# What makes a plan's run fast here; these settings are left out of the comparison below.
SMALL = {"denoiser": {"n_train": 64, "n_val": 16, "batch_size": 8},
         "vae": {"image_size": 32, "n_images": 32, "batch_size": 8},
         "classifier": {"n_images": 45, "batch_size": 8, "width": 8},
         "mae": {"image_size": 32, "n_images": 32, "batch_size": 8, "dim": 32, "depth": 1, "heads": 2, "decoder_dim": 16,
                 "decoder_depth": 1},
         **{gan: {"image_size": 32, "ngf": 8, "ndf": 8, "n_images": 48} for gan in ("gan", "acgan", "wgan-gp", "wgan-div")}}
# Settings that say how often a run logs or saves, not what it trains.
BOOKKEEPING = {"steps", "eval_every", "checkpoint_every", "checkpoint_seconds", "snapshot_seconds"}   # not in the weights


def shrunk(item: PretrainItem, small: dict) -> PretrainItem:
    """The same plan, every stage in order, with a few steps each and a small net and data set."""
    def steps(i):
        return 2 * (i + 1)
    settings = {**item.settings, **small, "steps": steps(0), "eval_every": 1, "checkpoint_every": 1}
    then = tuple({**stage, "steps": steps(i + 1)} for i, stage in enumerate(item.then))
    return PretrainItem(item.file, settings, then=then)


@pytest.mark.parametrize("model", list(MODELS))
def test_the_plan_run_by_pretrain_ends_in_the_shipped_files_config(model, tmp_path, monkeypatch):
    """`python -m autoenc pretrain MODEL` runs the plan's stages in order through the training
    loop; what it writes has the shipped file's config in every setting that shapes the weights
    (here with a few steps a stage, and a small net and data set), and the full plan ends
    where the shipped file says its run ended."""
    cls = MODELS[model].task_class()
    plan = cls.pretrain_plan()
    assert plan, f"{model} ships nothing"
    monkeypatch.setattr(cls, "pretrain_plan", classmethod(lambda c: [shrunk(item, SMALL[model]) for item in plan]))
    made = dict(P.pretrain(model, out_dir=tmp_path))
    for item in plan:
        shipped = read_meta(shipped_path(item.file))
        remade = read_meta(tmp_path / item.file)
        defaults = config_to_dict(cls.Config())
        compared = set(defaults) - BOOKKEEPING - set(SMALL[model])
        # a setting added after the file was made trained it at its default (which keeps the old
        # behaviour), or at the value the plan pins (the VAE's precision: fp32, whose default became auto)
        made_with = {k: shipped["config"].get(k, item.settings.get(k, defaults[k])) for k in compared}
        assert {k: remade["config"][k] for k in compared} == made_with
        assert made[tmp_path / item.file].status == "finished"
        planned = config_to_dict(config_from_dict(cls.Config, item.final_settings))
        assert planned["steps"] == shipped["config"]["steps"]
        # the file is the run's end, or its best validation in the last third
        lo = planned["steps"] * 2 / 3 if "selected_by" in shipped else planned["steps"]
        assert lo <= shipped["step"] <= planned["steps"]
