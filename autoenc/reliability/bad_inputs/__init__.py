"""Bad input, case by case, through the same entry points the pages and the CLI use.

Each case builds its bad input in a scratch folder, feeds it in, and names the reason it
expects: a phrase of the message a user should see. It is *handled* when
  - the entry point refuses it with a UserError whose message gives that reason in one
    clear paragraph (or, for a file name or a duplicate, accepts it safely, saying so),
  - nothing is written outside the case's folder, no upload is left half-stored in the
    datasets folder, and data already there is unchanged,
  - and no pickle payload ever ran.
Any other exception is a defect: the page would show a traceback.

The cases live in one module per area (uploads, radio, cli, settings, checkpoints);
`CASES` lists them all.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autoenc.errors import UserError
from autoenc.reliability.bad_inputs.files import PAYLOAD_MARK, good_npz, home_of

AREAS = ("uploads", "radio", "cli", "settings", "checkpoints")


@dataclass(frozen=True)
class Case:
    name: str
    area: str                                  # upload | radio | cli | settings | checkpoint | store | training
    run: Callable[[Path], str]                 # returns the message a user sees
    reason: str                                # a phrase that message must contain (case-insensitive)
    accepted: bool = False                     # True: the input is made safe rather than refused


CASES: list[Case] = []


def case(area: str, reason: str, accepted: bool = False):
    def register(fn):
        CASES.append(Case(fn.__name__, area, fn, reason, accepted))
        return fn
    return register


@dataclass
class Outcome:
    case: str
    area: str
    handled: bool
    message: str


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def try_case(c: Case, tmp: Path) -> Outcome:
    """Run one case in an empty folder `tmp` (its parent must be a scratch folder too) and judge it."""
    tmp.mkdir(parents=True, exist_ok=True)
    home = home_of(tmp)
    keep = home / "datasets" / "kept.npz"                       # data a user already had
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_bytes(good_npz())
    before = _files(home)
    around = {p.name for p in tmp.parent.iterdir()}
    problems = []
    try:
        message = c.run(tmp)
        refused = False
    except UserError as e:
        message, refused = str(e), True
    except Exception as e:  # noqa: BLE001 - anything else would be a traceback on a page
        return Outcome(c.name, c.area, False, f"{type(e).__name__}: {e}"[:300])
    if refused == c.accepted:
        problems.append("accepted a bad input" if not refused else "refused an input it should make safe")
    if not message.strip() or "Traceback" in message:
        problems.append("no clear message")
    elif c.reason.lower() not in message.lower():
        problems.append(f"the message does not give the reason expected ({c.reason!r})")
    if (tmp / PAYLOAD_MARK).exists():
        problems.append("a pickle payload ran")
    after = _files(home)
    if any(before[k] != after.get(k) for k in before):
        problems.append("data that was there before changed or vanished")
    incoming = home / "datasets" / "incoming"
    if incoming.exists() and any(incoming.iterdir()):
        problems.append("an upload was left in the incoming folder")
    if refused and c.area == "upload" and set(after) - set(before):
        problems.append(f"a refused upload wrote {sorted(set(after) - set(before))}")
    outside = sorted({p.name for p in tmp.parent.iterdir()} - around)
    if outside:
        problems.append(f"wrote outside the case's folder: {outside}")
    return Outcome(c.name, c.area, not problems, message if not problems else "; ".join(problems) + f" ({message[:200]})")


def try_all(root: Path, echo=None) -> list[Outcome]:
    outcomes = []
    for i, c in enumerate(CASES):
        o = try_case(c, Path(root) / f"{i:03d}-{c.name}" / "case")
        outcomes.append(o)
        if echo and not o.handled:
            echo(f"bad input {c.name}: NOT HANDLED: {o.message}")
    return outcomes


for _area in AREAS:                 # each module registers its cases with @case
    importlib.import_module(f"autoenc.reliability.bad_inputs.{_area}")
