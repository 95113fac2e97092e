"""The house rules of issue 18, checked on the source: no import cycle, small modules, every
hook declared on Task, no per-model string branches, and one way to find a shipped file."""
import ast
from pathlib import Path

import pytest

from autoenc.registry import MODELS
from autoenc.train.task import Task

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.joinpath("autoenc").rglob("*.py"), *ROOT.joinpath("pages").rglob("*.py"), ROOT / "app.py"])
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts) if path.is_relative_to(ROOT) else [path.stem]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SOURCES}


def imports(path: Path) -> set[str]:
    """The project's modules a file imports, anywhere in it (function-local imports too)."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in MODULES}
    return found - {module_name(path)}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2
    for n in sorted(graph):
        if n not in state:
            visit(n)
    return cycles


def test_no_import_cycles():
    cycles = find_cycles({name: imports(path) for name, path in MODULES.items()})
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_sees_a_function_local_import(tmp_path):
    """The check above must count imports inside functions, where cycles used to hide."""
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from autoenc.cli import main\n    return main\n")
    assert imports(f) == {"autoenc.cli"}
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_modules_stay_small(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines: split it by job"


def test_every_hook_the_cli_pretrain_and_pages_use_is_declared_on_task():
    hooks = ("build_modules", "update", "train_step", "validate", "snapshot", "modules", "optimizers", "extra_tensors",
             "load_extra_tensors", "steps_per_epoch", "pretrain_plan", "shipped_files", "add_eval_arguments",
             "evaluate_cli", "chart_metrics", "best_metric", "optional_modules", "uses", "synced_modules",
             "shard", "distribute", "sync", "rank_batch")
    assert [h for h in hooks if h not in vars(Task)] == []


# Task hooks, and what the registry and the Tasks once both held (title, pretrained files)
HOOKS = ({name for name in vars(Task) if not name.startswith("__")} - {"name"}) | {"title", "pretrained", "check"}


def probes(tree: ast.AST) -> list[str]:
    """hasattr / getattr for a hook's name: a hook looked for instead of declared."""
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr")
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value in HOOKS):
            out.append(f"{node.func.id}(..., {node.args[1].value!r}) at line {node.lineno}")
    return out


def model_branches(tree: ast.AST) -> list[str]:
    """Comparisons with a registered model's name: behaviour chosen by string."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                values = [side] + (list(side.elts) if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [])
                out += [f"compares with {v.value!r} at line {node.lineno}" for v in values
                        if isinstance(v, ast.Constant) and v.value in MODELS]
    return out


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_probing_for_hooks_and_no_per_model_branches(path):
    tree = ast.parse(path.read_text())
    assert probes(tree) == [] and model_branches(tree) == []


def test_the_source_checks_catch_what_they_look_for():
    tree = ast.parse("if hasattr(cls, 'pretrain_plan'):\n    pass\nif model == 'gan':\n    pass\n"
                     "x = kind in ('wgan-gp', 'wgan-div')\n")
    assert len(probes(tree)) == 1 and len(model_branches(tree)) == 3
    assert probes(ast.parse("name = getattr(upload, 'name', None)")) == []     # not a hook


def test_shipped_files_are_found_one_way():
    """Every shipped checkpoint is located by autoenc.paths.shipped_path (AUTOENC_SHIPPED in tests)."""
    offenders = []
    for path in SOURCES:
        text = path.read_text()
        if path != ROOT / "autoenc" / "paths.py" and ("SHIPPED_DIR" in text or "PRETRAINED_DIR" in text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
