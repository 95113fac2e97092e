"""`python -m autoenc reliability`: the harness as one more command of the CLI it drives."""
from __future__ import annotations

import argparse
import json
import sys

from autoenc.cli import Command
from autoenc.errors import UserError
from autoenc.reliability import LOAD_BROWSERS


def add_arguments(rel: argparse.ArgumentParser) -> None:
    rel.add_argument("--json", action="store_true", help="print one JSON object (progress goes to stderr)")
    rel.add_argument("--faults", type=int, default=20, help="training processes to SIGKILL and resume (default 20)")
    rel.add_argument("--sessions", type=int, default=30, help="concurrent sessions; 0 skips the load "
                                                              "test and the server kill (default 30)")
    rel.add_argument("--browsers", type=int, default=LOAD_BROWSERS,
                     help=f"of the sessions, how many are headless Chromium; the others speak the browser's "
                          f"protocol without drawing, as if on the students' own laptops (default {LOAD_BROWSERS})")
    rel.add_argument("--seconds", type=float, default=300.0, help="length of the load test (default 300)")
    rel.add_argument("--seed", type=int, default=0, help="seed of the random kill points")
    rel.add_argument("--scratch-store", metavar="URL", help="run the kills and the load test on this PostgreSQL "
                     "database (postgresql://...), a scratch one: every run in it is deleted. Default: a "
                     "SQLite file in a scratch folder, whatever AUTOENC_STORE says")


def run(args: argparse.Namespace) -> int:
    from autoenc.reliability.harness import run_reliability  # torch, playwright: only when it runs
    for name in ("faults", "sessions", "browsers", "seconds"):
        if getattr(args, name) < 0:
            raise UserError(f"--{name} must not be negative")
    echo = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    result = run_reliability(args.faults, args.sessions, args.seconds, args.seed, echo=echo,
                             browsers=args.browsers, scratch_store=args.scratch_store)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k != "failures":
                print(f"{k}: {v}")
        for f in result["failures"]:
            print(f"FAILED: {f}")
    ok = (result["faults_survived"] == result["faults_tried"] and result["session_errors"] == 0
          and result["bad_inputs_handled"] == result["bad_inputs_tried"] and not result["runs_lost"]
          and not result["checkpoints_corrupt"])
    return 0 if ok else 1


RELIABILITY = Command("reliability", "kill runs and the server, feed bad input, load the app with browser "
                                     "sessions; print the figures", add_arguments, run)
