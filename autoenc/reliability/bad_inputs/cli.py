"""The command line, as a user types it: a refusal is exit code 2 and one line naming why."""
from __future__ import annotations

import contextlib
import io
import shlex
import subprocess
import sys
from pathlib import Path

from autoenc.__main__ import main
from autoenc.errors import UserError
from autoenc.paths import REPO_ROOT
from autoenc.reliability.bad_inputs import CASES, Case, case
from autoenc.reliability.bad_inputs.files import home_of


def cli(tmp: Path, *argv: str) -> str:
    """Run `python -m autoenc ARGV` in-process."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main([*argv, *(["--home", str(home_of(tmp))] if _takes_home(argv) else [])])
    lines = err.getvalue().strip().splitlines()
    if code == 2 and len(lines) == 1 and lines[0].startswith("autoenc: error: "):
        raise UserError(lines[0][len("autoenc: error: "):])
    raise AssertionError(f"exit {code}, stderr {err.getvalue()[-300:]!r}")


def _takes_home(argv) -> bool:
    return bool(argv) and (argv[0] == "train" or (argv[0] == "runs" and len(argv) > 1))


# name: (argv, the reason the message must give)
REFUSED: dict[str, tuple[tuple[str, ...], str]] = {
    "cli_unknown_model": (('train', 'nosuchmodel'), "invalid choice: 'nosuchmodel'"),
    "cli_lr_not_a_number": (('train', 'denoiser', '--lr', 'abc'), "'abc' is not a valid float"),
    "cli_lr_negative": (('train', 'denoiser', '--lr', '-1'), "lr must be at least"),
    "cli_lr_nan": (('train', 'denoiser', '--lr', 'nan'), "lr must be a finite number"),
    "cli_steps_zero": (('train', 'denoiser', '--steps', '0'), "steps must be at least 1"),
    "cli_steps_fractional": (('train', 'denoiser', '--steps', '2.5'), "'2.5' is not a valid int"),
    "cli_batch_too_large": (('train', 'denoiser', '--batch-size', '100000'), "batch_size must be at most"),
    "cli_unknown_noise": (('train', 'denoiser', '--noise', 'pink'), "invalid choice: 'pink'"),
    "cli_max_seconds_negative": (('train', 'denoiser', '--max-seconds', '-5'), "--max-seconds must be positive"),
    "cli_epochs_negative": (('train', 'denoiser', '--epochs', '-1'), "--epochs must be positive"),
    "cli_resume_without_run_id": (('train', 'denoiser', '--resume'), "--resume needs --run-id"),
    "cli_gan_image_size_not_offered": (('train', 'gan', '--image-size', '48'), "invalid choice: 48"),
    "cli_wgan_with_batchnorm": (('train', 'wgan-gp', '--critic-norm', 'batch'), "cannot use BatchNorm"),
    "cli_betas_not_numbers": (('train', 'gan', '--betas', 'a,b'), "betas must be numbers"),
    "cli_betas_out_of_range": (('train', 'gan', '--betas', '1.5,0.9'), "betas must be two numbers in [0, 1)"),
    "cli_vae_unknown_arch": (('train', 'vae', '--arch', 'transformer'), "invalid choice: 'transformer'"),
    "cli_stop_unknown_run": (('runs', 'stop', 'nope'), "unknown run id 'nope'"),
    "cli_resume_unknown_run": (('runs', 'resume', 'nope'), "unknown run id 'nope'"),
    "cli_delete_unknown_run": (('runs', 'delete', 'nope'), "unknown run id 'nope'"),
    "cli_limit_zero": (('runs', 'limit', '0'), "the limit must be at least 1"),
    "cli_unknown_command": (('frobnicate',), "invalid choice: 'frobnicate'"),
    "cli_eval_missing_checkpoint": (('eval', 'denoiser', '--checkpoint', '/nonexistent/x.safetensors'), "checkpoint not found"),
}
for _name, (_argv, _reason) in REFUSED.items():
    CASES.append(Case(_name, "cli", (lambda argv: lambda tmp: cli(tmp, *argv))(_argv), _reason))


@case("cli", "stopped quietly", accepted=True)
def cli_list_into_a_closed_pipe(tmp):
    """`runs list --json | head -1`: the reader leaves after one line; the CLI must stop
    quietly, not print a BrokenPipeError traceback."""
    from autoenc.runs.store import RunStore
    store = RunStore(home_of(tmp))
    for i in range(300):                     # more JSON than a pipe buffers (64 KB)
        store.create_run("denoiser", {"note": "x" * 200}, run_id=f"run-{i:03d}", total_steps=10)
    cmd = f"{shlex.quote(sys.executable)} -m autoenc runs list --json --home {shlex.quote(str(home_of(tmp)))} | head -1"
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    if r.stderr.strip():
        raise AssertionError(f"stderr: {r.stderr.strip()[-300:]}")
    return "the CLI stopped quietly when its reader closed the pipe"
