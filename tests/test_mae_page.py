"""The MAE page (issue 25, items 5-8) with the shipped files: the masked input, reconstruction and
original for the chosen galaxies, the mask-ratio slider and a new random mask, the error against
the mask ratio, the linear probes of the MAE and the VAE side by side on both pages, and the
evaluation's goals (`eval mae --json`)."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from autoenc.cli import main
from autoenc.paths import shipped_path
from autoenc.train.mae import SHIPPED_FILE


def captions(at: AppTest) -> list[str]:
    return [c for im in at.get("image") for c in im.captions]


def masked_caption(at: AppTest) -> str:
    return next(c for c in captions(at) if c.startswith("masked input"))


def image_bytes(at: AppTest, caption_start: str) -> bytes:
    for im in at.get("image"):
        if any(c.startswith(caption_start) for c in im.captions):
            return im.proto.imgs[0].url
    raise AssertionError(f"no image captioned {caption_start!r}")


@pytest.fixture(scope="module")
def page():
    assert shipped_path(SHIPPED_FILE).exists()          # shipped: `python -m autoenc pretrain mae`
    return AppTest.from_file("../pages/mae.py", default_timeout=240)


def test_the_page_masks_reconstructs_and_measures_the_chosen_galaxies(home, page):
    at = page.run()
    assert not at.exception and not at.error
    assert masked_caption(at) == "masked input (top, 75% hidden), reconstruction (middle), original (bottom)"
    measured = next(c.value for c in at.caption if c.value.startswith("On these 8 galaxies with 75% hidden"))
    assert "of that" in measured
    chart = next(c for c in at.get("plotly_chart") if "ratio_chart" in c.proto.id)
    spec = json.loads(chart.proto.spec)
    assert [t["name"] for t in spec["data"]] == ["the model", "baseline: the visible mean"]
    probes = {m.label: m.value for m in at.metric}
    assert len(probes) == 2 and all(v.endswith("%") for v in probes.values())
    assert set(probes) == {"MAE encoder", "VAE codes"}

    before = image_bytes(at, "masked input")
    at.slider(key="mask_percent").set_value(50).run()
    assert masked_caption(at).startswith("masked input (top, 50% hidden)")
    assert image_bytes(at, "masked input") != before
    fifty = image_bytes(at, "masked input")
    at.button(key="new_mask").click().run()
    assert at.number_input(key="mask_seed").value == 1
    assert image_bytes(at, "masked input") != fifty
    at.multiselect(key="shown").set_value([3]).run()
    assert any(c.value.startswith("On these 1 galaxies") for c in at.caption)
    at.multiselect(key="shown").set_value([]).run()
    assert any("Pick at least one galaxy" in i.value for i in at.info)


def test_a_link_opens_the_same_mask(home):
    at = AppTest.from_file("../pages/mae.py", default_timeout=240)
    for key, value in {"mask_percent": "90", "mask_seed": "7", "shown": ["2", "4"]}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert at.slider(key="mask_percent").value == 90 and at.number_input(key="mask_seed").value == 7
    assert list(at.multiselect(key="shown").value) == [2, 4]
    assert masked_caption(at).startswith("masked input (top, 90% hidden)")


def test_the_vae_page_shows_both_probes_too(home):
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    assert not at.exception
    probes = {m.label: m.value for m in at.metric}
    assert set(probes) == {"VAE codes", "MAE encoder"}


def test_the_shipped_mae_meets_its_goals_and_beats_the_vae_s_probe(capsys):
    assert main(["eval", "mae", "--json"]) == 0
    mae = json.loads(capsys.readouterr().out)
    assert set(mae) == {"masked_mse", "baseline_mse", "probe_accuracy", "n"} and mae["n"] == 300
    assert mae["masked_mse"] <= 0.5 * mae["baseline_mse"]
    assert main(["eval", "vae", "--json"]) == 0
    vae = json.loads(capsys.readouterr().out)
    assert 0.33 < vae["probe_accuracy"] <= mae["probe_accuracy"]
    assert main(["eval", "mae", "--json", "--mask-ratio", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
