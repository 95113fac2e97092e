"""CLI: clear one-line errors with a non-zero exit code, never a traceback; --help everywhere."""
import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("args, says", [
    (["train", "nosuchmodel"], "invalid choice: 'nosuchmodel'"),
    (["train", "denoiser", "--lr", "abc"], "'abc' is not a valid float"),
    (["train", "denoiser", "--lr", "-1"], "lr must be at least"),
    (["train", "denoiser", "--steps", "0"], "steps must be at least 1"),
    (["train", "denoiser", "--noise", "pink"], "invalid choice: 'pink'"),
    (["train", "denoiser", "--max-seconds", "-5"], "--max-seconds must be positive"),
    (["train", "denoiser", "--resume"], "--resume needs --run-id"),
    (["runs", "stop", "nope"], "unknown run id 'nope'"),
    (["runs", "resume", "nope"], "unknown run id 'nope'"),
    (["runs", "delete", "nope"], "unknown run id 'nope'"),
    (["runs", "limit", "0"], "at least 1"),
    (["eval", "denoiser", "--checkpoint", "/nonexistent/x.safetensors"], "not found"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_bad_usage_is_one_clear_line(home, args, says):
    r = run_cli(*args, home=home)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autoenc: error:"), r.stderr
    assert says in lines[0]


@pytest.mark.parametrize("args", [[], ["train"], ["train", "denoiser"], ["runs"], ["runs", "list"],
                                  ["runs", "stop"], ["runs", "resume"], ["runs", "delete"], ["bench"],
                                  ["eval", "denoiser"], ["pretrain"]])
def test_help_everywhere(args):
    r = run_cli(*args, "--help")
    assert r.returncode == 0 and "usage:" in r.stdout


def test_runs_list_empty(home):
    r = run_cli("runs", "list", home=home)
    assert r.returncode == 0 and "no runs yet" in r.stdout
    assert run_cli("runs", "list", "--json", home=home).stdout.strip() == "[]"


def test_not_sqlite_store_is_a_clear_error(home):
    (home / "runs").mkdir()
    (home / "runs" / "runs.sqlite").write_text("not a database " * 200)
    r = run_cli("runs", "list", home=home)
    assert r.returncode == 2 and "not a readable SQLite database" in r.stderr and "Traceback" not in r.stderr


def test_bench_only_prints_json_records_with_the_thread_count():
    import json
    r = run_cli("bench", "--only", "machine", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    from autoenc.bench import bench_threads
    records = {rec["name"]: rec for rec in json.loads(r.stdout)}
    assert set(records) == {"machine.torch_threads", "machine.matmul_gflops"}       # --only: that family alone
    # every benchmark runs with the threads a dashboard run gets, whatever --only says
    assert records["machine.torch_threads"]["value"] == bench_threads()
    assert records["machine.matmul_gflops"]["unit"] == "GFLOP/s" and records["machine.matmul_gflops"]["value"] > 0
