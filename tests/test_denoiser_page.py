"""AppTest of the Denoiser page, and the eval command's JSON contract."""
import json

from streamlit.testing.v1 import AppTest

from tests.conftest import run_cli


def test_denoiser_page_shows_shipped_results_and_switches_noise(home):
    at = AppTest.from_file("../pages/denoiser.py", default_timeout=240).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Peak accuracy"].endswith("%") and "dB" in metrics["SNR gain (median)"]
    assert float(metrics["Peak accuracy"].rstrip("%")) >= 69.0
    at.radio(key="noise").set_value("cosine").run()
    assert not at.exception
    assert float({m.label: m.value for m in at.metric}["Peak accuracy"].rstrip("%")) >= 98.0
    assert any("No cosine run yet" in i.value for i in at.info)


def test_eval_json_contract(home):
    r = run_cli("eval", "denoiser", "--noise", "uniform", "--json", home=home, timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result) == {"peak_accuracy", "snr_gain_db", "n"}
    assert result["n"] == 2000 and result["peak_accuracy"] >= 0.95 and result["snr_gain_db"] > 0


def test_eval_refuses_a_checkpoint_of_another_model(home, tmp_path):
    import torch

    from autoenc.runs.checkpoint import save_checkpoint
    other = tmp_path / "vae.safetensors"
    save_checkpoint(other, {"model.vae.w": torch.zeros(1)}, {"model": "vae", "config": {}, "step": 1})
    r = run_cli("eval", "denoiser", "--checkpoint", other, "--json", home=home, timeout=300)
    assert r.returncode == 2 and "checkpoint of 'vae', not of 'denoiser'" in r.stderr
    assert "Traceback" not in r.stderr
