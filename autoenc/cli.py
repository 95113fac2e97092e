"""python -m autoenc: train | pretrain | eval | bench | runs, and the commands built on top of
them (autoenc/__main__.py adds `reliability`). Errors are one line, exit 2.

Each command imports what it needs when it runs (function-local imports below): `runs list`
or `--help` must not pay for torch and every model.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from autoenc.errors import UserError
from autoenc.paths import home as resolve_home
from autoenc.registry import MODELS, get_model
from autoenc.runs import launcher
from autoenc.runs.store import RunStore


@dataclass(frozen=True)
class Command:
    """A subcommand defined outside this module (the reliability harness stands on top of the CLI)."""
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line instead of usage + error."""

    def error(self, message):
        raise UserError(f"{message} (see: {self.prog} --help)")


STORE_HELP = ("a run store several machines share, postgresql://user:password@host/database "
              "(env AUTOENC_STORE; default: the SQLite file in the home folder)")


def add_common_train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, help="train this many passes over the data (overrides --steps)")
    p.add_argument("--max-seconds", type=float, help="stop after this many seconds of training (saving a checkpoint)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--home", help="folder for the run store and run checkpoints (env AUTOENC_HOME; default checkpoints/)")
    p.add_argument("--store", metavar="URL", help=STORE_HELP)
    p.add_argument("--run-id", help="id for this run (default: generated)")
    p.add_argument("--threads", type=int, help="torch threads (default: cores / max concurrent runs)")
    p.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority by N (0-19); the "
                                                        "dashboard starts runs at 10 so its pages stay live")
    p.add_argument("--resume", action="store_true", help="continue run --run-id from its last checkpoint")
    p.add_argument("--paused", action="store_true", help="start paused, in step mode (GAN models): "
                   "step it with `runs step ID`, play it with `runs play ID`")
    # set by the dashboard's launcher, which has already queued the run for resuming
    p.add_argument("--resume-prepared", action="store_true", help=argparse.SUPPRESS)


def add_config_options(p: argparse.ArgumentParser, config_cls) -> None:
    from autoenc.train.task import config_fields  # imports torch: only for the model named
    for f in config_fields(config_cls):
        flag = "--" + f.name.replace("_", "-")
        meta, default = f.metadata, f.default
        help_ = f"{meta.get('help', '')} (default: {default})"
        if isinstance(default, bool):
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_)
        elif isinstance(default, tuple):
            p.add_argument(flag, dest=f.name, default=None, metavar="A,B", help=help_)
        else:
            p.add_argument(flag, dest=f.name, default=None, choices=meta.get("choices"),
                           type=_number_type(type(default), f.name), help=help_)


def _number_type(kind, name):
    if kind not in (int, float):
        return kind

    def parse(text):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {kind.__name__}") from None
    parse.__name__ = kind.__name__
    return parse


def build_parser(argv: list[str] | None = None, extra: Sequence[Command] = ()) -> Parser:
    """Model options are added only for the model named on the command line, so that
    `runs list` or `train --help` do not import every model (torch, scipy) first."""
    argv = sys.argv[1:] if argv is None else argv
    wanted = argv[1] if len(argv) > 1 and argv[0] in ("train", "eval") else None
    top = Parser(prog="python -m autoenc", description="autoenc: train, evaluate and benchmark the dashboard's models.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=Parser)

    train = sub.add_parser("train", help="train one model (the dashboard runs exactly this)")
    train_models = train.add_subparsers(dest="model", required=True, parser_class=Parser, metavar="MODEL")
    for spec in MODELS.values():
        p = train_models.add_parser(spec.name, help=spec.summary, description=spec.summary)
        if spec.name == wanted:
            add_config_options(p, spec.task_class().Config)
        add_common_train_options(p)

    pre = sub.add_parser("pretrain", help="train the shipped checkpoints in checkpoints/")
    pre.add_argument("model", metavar="MODEL", choices=list(MODELS))
    pre.add_argument("--only", help="only the variant whose file name contains this")
    pre.add_argument("--out", help="folder to write to (default: checkpoints/)")

    ev = sub.add_parser("eval", help="evaluate a checkpoint on the fixed held-out set")
    ev_models = ev.add_subparsers(dest="model", required=True, parser_class=Parser, metavar="MODEL")
    for spec in MODELS.values():
        p = ev_models.add_parser(spec.name, help=f"evaluate a {spec.title} checkpoint")
        if spec.name == wanted:
            spec.task_class().add_eval_arguments(p)
        p.add_argument("--checkpoint", help="checkpoint file (default: the shipped one)")
        p.add_argument("--json", action="store_true", help="print one JSON object")

    bench = sub.add_parser("bench", help="run the speed benchmarks and print figures")
    bench.add_argument("--json", action="store_true", help="print one JSON list of records")
    bench.add_argument("--only", metavar="PREFIX", help="only benchmarks whose name starts with PREFIX")

    for command in extra:
        command.add_arguments(sub.add_parser(command.name, help=command.help))
    runs = sub.add_parser("runs", help="list and control runs")
    home_opt = Parser(add_help=False)
    home_opt.add_argument("--home", help="folder of the run store (env AUTOENC_HOME; default checkpoints/)")
    home_opt.add_argument("--store", metavar="URL", help=STORE_HELP)
    rsub = runs.add_subparsers(dest="action", required=True, parser_class=Parser)
    ls = rsub.add_parser("list", help="list runs", parents=[home_opt])
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    ls.add_argument("--model", help="only runs of this model")
    st = rsub.add_parser("stop", help="stop a run: it finishes its step and saves a checkpoint", parents=[home_opt])
    st.add_argument("run_id", metavar="ID")
    st.add_argument("--wait", type=float, default=30.0, help="seconds to wait for it to stop (default 30)")
    rs = rsub.add_parser("resume", help="continue a run from its last checkpoint", parents=[home_opt])
    rs.add_argument("run_id", metavar="ID")
    rs.add_argument("--steps", type=int, help="train this many more steps (default: up to its total)")
    rs.add_argument("--detach", action="store_true", help="start it in the background and return")
    dl = rsub.add_parser("delete", help="delete a run, its metrics and checkpoints", parents=[home_opt])
    dl.add_argument("run_id", metavar="ID")
    stp = rsub.add_parser("step", help="GAN runs: pause, make N critic updates then M generator updates, and "
                          "return when they are done", parents=[home_opt])
    stp.add_argument("run_id", metavar="ID")
    stp.add_argument("--critic", type=int, default=0, metavar="N", help="critic updates (default 0)")
    stp.add_argument("--generator", type=int, default=0, metavar="M", help="generator updates, after the "
                     "critic's (default 0)")
    stp.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for them (default 120)")
    ply = rsub.add_parser("play", help="GAN runs: let a paused run train on", parents=[home_opt])
    ply.add_argument("run_id", metavar="ID")
    ply.add_argument("--speed", type=float, metavar="S", help="at most S generator steps a second (0: no limit)")
    pau = rsub.add_parser("pause", help="GAN runs: pause a run between two updates", parents=[home_opt])
    pau.add_argument("run_id", metavar="ID")
    ex = rsub.add_parser("export", help="a run (or a shipped checkpoint, by file name) as one zip bundle, or "
                         "as TensorBoard event files", parents=[home_opt])
    ex.add_argument("run_id", metavar="ID", help="a run id, or a shipped checkpoint such as gan-64.safetensors")
    ex.add_argument("--out", metavar="FILE", help="where to write the zip (default: ID.zip here)")
    ex.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard event files under DIR instead")
    im = rsub.add_parser("import", help="add a run from a bundle made by `runs export` (on this machine or another)",
                         parents=[home_opt])
    im.add_argument("file", metavar="FILE")
    lim = rsub.add_parser("limit", help="set how many runs may train at once", parents=[home_opt])
    lim.add_argument("n", type=int)
    return top


def cmd_train(args) -> int:
    from autoenc.runs.worker import execute  # torch, and the model's code
    from autoenc.train.distributed import World
    main = World.from_env().main        # under torchrun: rank 0 speaks for the run
    cls = get_model(args.model).task_class()
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls.Config)
                if getattr(args, f.name, None) is not None}
    if not 0 <= args.nice <= 19:
        raise UserError(f"--nice must be between 0 and 19, not {args.nice}")
    if args.nice:
        os.nice(args.nice)
    for name in ("epochs", "max_seconds", "threads"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive, not {v}")
    store = open_store(args)
    if args.resume:
        if not args.run_id:
            raise UserError("--resume needs --run-id")
        if not args.resume_prepared and main:
            launcher.prepare_resume(store, args.run_id)
    run_id, outcome = execute(store, args.model, settings, run_id=args.run_id, resume=args.resume,
                              epochs=args.epochs, max_seconds=args.max_seconds, device=args.device,
                              threads=args.threads, progress=True, paused=args.paused)
    if not main:
        return 1 if outcome.status == "failed" else 0
    print(f"run {run_id}: {outcome.status} at step {outcome.step}" + (f" ({outcome.message.splitlines()[0]})" if outcome.message else ""))
    return 1 if outcome.status == "failed" else 0


def open_store(args) -> RunStore:
    """The run store --home and --store name; this process's children (the runs it starts,
    imported galaxy sets) read the same ones."""
    store = RunStore(resolve_home(args.home), args.store)
    os.environ["AUTOENC_HOME"] = str(store.home)
    if args.store:
        os.environ["AUTOENC_STORE"] = args.store
    return store


def cmd_runs(args) -> int:
    store = open_store(args)
    if args.action == "list":
        runs = store.list(model=args.model)
        if args.json:
            print(json.dumps([r.as_json() for r in runs], indent=1))
        elif not runs:
            print("no runs yet")
        else:
            print(f"{'id':34} {'model':10} {'status':12} {'step':>14}  {'host':16} {'procs':>5}  error")
            for r in runs:
                steps = f"{r.step}/{r.total_steps}" if r.total_steps else str(r.step)
                err = (r.error or "").splitlines()[0][:60] if r.error else ""
                print(f"{r.id:34} {r.model:10} {r.status:12} {steps:>14}  {r.host or '':16} {r.processes:>5}  {err}")
    elif args.action == "stop":
        run = launcher.stop_run(store, args.run_id, wait_s=args.wait)
        print(f"run {run.id}: {run.status} at step {run.step}"
              + (" (stop requested; still finishing its step)" if run.active else ""))
    elif args.action == "resume":
        if args.steps is not None and args.steps <= 0:
            raise UserError(f"--steps must be positive, not {args.steps}")
        if args.detach:
            run = launcher.resume_run(store, args.run_id, extra_steps=args.steps)
            print(f"run {run.id}: resumed in the background (pid {run.pid})")
            return 0
        config = launcher.prepare_resume(store, args.run_id, extra_steps=args.steps)
        from autoenc.runs.worker import execute  # torch, and the model's code
        _, outcome = execute(store, store.get(args.run_id).model, {"steps": config["steps"]},
                             run_id=args.run_id, resume=True, progress=True)
        print(f"run {args.run_id}: {outcome.status} at step {outcome.step}")
        return 1 if outcome.status == "failed" else 0
    elif args.action in ("step", "play", "pause"):
        return step_command(store, args)
    elif args.action == "delete":
        launcher.delete_run(store, args.run_id)
        print(f"run {args.run_id} deleted")
    elif args.action in ("export", "import"):
        return bundle_command(store, args)
    elif args.action == "limit":
        if args.n < 1:
            raise UserError("the limit must be at least 1")
        store.set_setting("max_concurrent", args.n)
        print(f"at most {args.n} run(s) will train at once")
    return 0


def bundle_command(store: RunStore, args) -> int:
    """runs export | import: a run as a zip bundle or TensorBoard events, and a bundle back in."""
    from autoenc.runs import bundle, bundle_import  # torch (the snippet's preview)
    if args.action == "import":
        path = Path(args.file)
        if not path.is_file():
            raise UserError(f"no such file: {path}")
        run_id = bundle_import.import_bundle(store, path)
        run = store.get(run_id)
        print(f"run {run_id}: imported ({run.model}, {run.status} at step {run.step:,}, checkpoint at step "
              f"{run.checkpoint_step or 0:,})")
        return 0
    if args.tensorboard:
        from autoenc.runs.tensorboard_export import export_tensorboard
        print(f"run {args.run_id}: TensorBoard events in {export_tensorboard(store, args.run_id, Path(args.tensorboard))}"
              f" (open with: tensorboard --logdir {args.tensorboard})")
        return 0
    made = bundle.export_any(store, args.run_id)
    out = Path(args.out) if args.out else Path(made.name)
    out.write_bytes(made.data)
    print(f"{out}: {len(made.data) / 1024**2:.1f} MB")
    return 0


def step_command(store: RunStore, args) -> int:
    """runs step | play | pause: GAN Lab's controls from the shell (runs/step_mode.py)."""
    from autoenc.runs import step_mode
    run = store.get(args.run_id)
    step_mode.check_run_steppable(run)
    if args.action == "pause":
        run = step_mode.set_paused(store, run.id, True)
        print(f"run {run.id}: paused at generator step {run.step:,}, critic step {run.critic_steps:,}")
    elif args.action == "play":
        if args.speed is not None:
            step_mode.set_speed_limit(store, run.id, args.speed)
        run = step_mode.set_paused(store, run.id, False)
        cap = f", at most {run.speed_limit:g} generator steps a second" if run.speed_limit else ""
        print(f"run {run.id}: playing from generator step {run.step:,}{cap}")
    else:
        critic, generator = step_mode.request_steps(store, run.id, args.critic, args.generator)
        run = step_mode.wait_for_steps(store, run.id, critic, generator, timeout_s=args.timeout)
        done = run.critic_steps >= critic and run.step >= generator
        print(f"run {run.id}: critic step {run.critic_steps:,}, generator step {run.step:,}"
              + ("" if done else f" (not there yet: asked for {critic:,} and {generator:,}; run {run.status})"))
        return 0 if done else 1
    return 0


def cmd_eval(args) -> int:
    cls = get_model(args.model).task_class()
    result = cls.evaluate_cli(args)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")
    return 0


def cmd_pretrain(args) -> int:
    from autoenc.train.pretrain import pretrain  # torch, and the model's code
    out = Path(args.out) if args.out else None
    for path, outcome in pretrain(args.model, only=args.only, out_dir=out):
        print(f"{path}: {outcome.status} at step {outcome.step}")
    return 0


def cmd_bench(args) -> int:
    from autoenc.bench import run_benchmarks  # torch
    records = run_benchmarks(args.only, echo=not args.json)
    if args.json:
        print(json.dumps([r.as_json() for r in records]))
    return 0


def main(argv: list[str] | None = None, extra: Sequence[Command] = ()) -> int:
    try:
        args = build_parser(argv, extra).parse_args(argv)
        commands = {"train": cmd_train, "runs": cmd_runs, "eval": cmd_eval, "pretrain": cmd_pretrain,
                    "bench": cmd_bench, **{c.name: c.run for c in extra}}
        return commands[args.command](args)
    except UserError as e:
        if os.environ.get("RANK", "0") == "0":      # under torchrun every rank has the same to say
            print(f"autoenc: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autoenc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader left (`runs list | head -1`): stop quietly, as other command-line tools do;
        # stdout goes to /dev/null so the interpreter's final flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
