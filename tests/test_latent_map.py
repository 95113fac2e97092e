"""The VAE page's latent map (issue 25, items 1, 2 and 4): PCA of the codes with an exact
inverse in its plane, click-to-decode at a known point, the page's map and picks, the KL chart
sorted with its threshold."""
import base64
import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from autoenc.errors import UserError
from autoenc.inference import latent_map as LM
from autoenc.inference.vae import decode_latents
from autoenc.models.vae import build_vae


def values(v) -> list:
    """A Plotly JSON array: a list, or plotly 6's typed array {"dtype", "bdata"}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def test_pca_finds_the_plane_and_its_inverse_is_exact():
    rng = np.random.default_rng(0)
    plane = np.linalg.qr(rng.normal(size=(10, 2)))[0].T          # two orthonormal directions in 10-D
    coords = rng.normal(size=(500, 2)) * [5.0, 2.0]
    z = coords @ plane + 0.01 * rng.normal(size=(500, 10)) + 3.0
    m = LM.fit(z)
    assert m.explained[0] > m.explained[1] > 0.05 and sum(m.explained) > 0.99
    # the axes span the plane the codes were made in
    assert np.allclose(np.abs(m.axes @ plane.T).max(1), 1.0, atol=1e-3)
    xy = rng.normal(size=(20, 2))
    assert np.allclose(m.to_map(m.from_map(xy)), xy)                 # round trip on the map
    assert np.allclose(m.to_map(z), m.coords)
    # a point of the map decodes to a code in the plane, the other directions at the prior's 0
    off_plane = m.from_map(xy) - (m.from_map(xy) @ m.axes.T) @ m.axes
    assert np.allclose(off_plane, 0.0)
    with pytest.raises(UserError):
        LM.fit(z[:2])


def test_click_to_decode_decodes_the_code_at_that_point():
    torch.manual_seed(0)
    model = build_vae("conv", 32, 8).eval()
    rng = np.random.default_rng(1)
    m = LM.fit(rng.normal(size=(50, 8)))
    xy = np.array([[0.7, -1.2]])
    want = decode_latents(model, m.from_map(xy).astype(np.float32))
    assert np.array_equal(LM.decode_at(model, m, xy), want)
    assert not np.array_equal(LM.decode_at(model, m, [[3.0, 3.0]]), want)       # another point, another image
    route = LM.path([0.0, 0.0], [1.0, 2.0], 5)
    assert route.shape == (5, 2) and np.allclose(route[2], [0.5, 1.0])


def test_the_vae_page_draws_the_map_and_a_click_decodes(home):
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    assert not at.exception
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and "latent_map" in c.proto.id)
    spec = json.loads(chart.proto.spec)
    names = [t.get("name") for t in spec["data"]]
    assert {"barred spiral", "elliptical", "spiral"} <= set(names)
    assert sum(len(values(t["x"])) for t in spec["data"] if t.get("name") in ("barred spiral", "elliptical",
                                                                             "spiral")) == 2000
    # a click on empty space (the background grid, customdata -1), then on a galaxy
    grid = spec["data"][0]
    at.session_state["latent_map"] = {"selection": {"points": [{"x": values(grid["x"])[0],
                                                                "y": values(grid["y"])[0], "customdata": -1}]}}
    at.run()
    assert not at.exception
    captions = [c for im in at.get("image") for c in im.captions]
    assert any(c.startswith("decoded at (") for c in captions)
    at.session_state["latent_map"] = {"selection": {"points": [{"x": 0.0, "y": 0.0, "customdata": 7}]}}
    at.run()
    captions = [c for im in at.get("image") for c in im.captions]
    assert any(c.startswith("your click:") and "#7" in c for c in captions)
    # two clicks: a path on the map and a slider along it
    assert at.slider(key="latent_map_t").value == 0.5
    spec = json.loads(next(c for c in at.get("plotly_chart") if "latent_map" in c.proto.id).proto.spec)
    assert "your path" in [t.get("name") for t in spec["data"]]


def test_the_kl_chart_is_sorted_with_its_threshold_drawn(home):
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    chart = next(c for c in at.get("plotly_chart") if "kl_bars" in c.proto.id)
    spec = json.loads(chart.proto.spec)
    kl = values(spec["data"][0]["y"])
    assert kl == sorted(kl, reverse=True)
    assert any("in use above" in a.get("text", "") for a in spec["layout"].get("annotations", []))


def test_the_plain_autoencoder_has_its_own_map_beside_the_vae(home):
    from autoenc.paths import shipped_path
    from autoenc.train.vae import PLAIN_FILE
    assert shipped_path(PLAIN_FILE).exists()            # shipped: `pretrain vae --only autoencoder`
    at = AppTest.from_file("../pages/vae.py", default_timeout=240).run()
    whose = at.radio(key="map_of")
    assert len(whose.options) == 2 and whose.value.startswith("the shipped")
    vae_spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("latent_map")).proto.spec)
    whose.set_value(whose.options[1]).run()
    assert not at.exception
    ae_spec = json.loads(next(c for c in at.get("plotly_chart") if "latent_map_ae" in c.proto.id).proto.spec)
    assert values(ae_spec["data"][1]["x"]) != values(vae_spec["data"][1]["x"])       # another model, another map
    assert any("root mean square of" in c.value for c in at.caption)
    # the same clicks on both maps: a galaxy picked on the plain autoencoder's map is picked on the
    # VAE's, where the VAE placed it
    at.session_state["latent_map_ae"] = {"selection": {"points": [{"x": 0.0, "y": 0.0, "customdata": 7}]}}
    at.run()
    assert any("#7" in c for im in at.get("image") for c in im.captions)
    whose.set_value(whose.options[0]).run()
    assert any(c.startswith("your click:") and "#7" in c for im in at.get("image") for c in im.captions)
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("latent_map")).proto.spec)
    marker = next(t for t in spec["data"] if t.get("text") == ["A"])
    seven = next(t for t in spec["data"] if t.get("name") in ("barred spiral", "elliptical", "spiral")
                 and 7 in values(t["customdata"]))
    i = values(seven["customdata"]).index(7)
    assert values(marker["x"])[0] == pytest.approx(values(seven["x"])[i])        # where the VAE placed #7


def test_tsne_keeps_neighbours_of_separate_clouds():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 0.1, (40, 10)), rng.normal(3, 0.1, (40, 10))])
    xy = LM.tsne(z)
    assert xy.shape == (80, 2)
    within = np.linalg.norm(xy[:40] - xy[:40].mean(0), axis=1).mean()
    between = np.linalg.norm(xy[:40].mean(0) - xy[40:].mean(0))
    assert between > 3 * within
    with pytest.raises(UserError):
        LM.tsne(z[:3])


def test_the_tsne_layout_takes_galaxy_clicks_only(home, monkeypatch):
    """t-SNE has no inverse: no clickable background, an empty click is ignored, galaxy clicks work
    and two of them make a path. (A stand-in layout: the real one is timed once per model.)"""
    import pages.ui.latent_map as page_map
    monkeypatch.setattr(LM, "tsne", lambda z, seed=0: np.asarray(z)[:, :2] * 10)
    monkeypatch.setattr(page_map, "cached", lambda path, what, compute: compute())
    page_map.tsne_coords.clear()
    try:
        at = AppTest.from_file("../pages/vae.py", default_timeout=240)
        at.query_params["latent_map_by"] = "t-SNE"          # a link to the t-SNE layout (the label is the value)
        at.run()
        assert at.radio(key="latent_map_by").value == "t-SNE"
        assert not at.exception
        spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("latent_map")).proto.spec)
        assert spec["data"][0]["name"] == "barred spiral" and spec["layout"]["xaxis"]["title"]["text"] == "t-SNE 1"
        assert any("laid out by t-SNE" in c.value for c in at.caption)
        at.session_state["latent_map"] = {"selection": {"points": [{"x": 0.0, "y": 0.0, "customdata": -1}]}}
        at.run()
        assert not any(c.startswith("decoded at (") for im in at.get("image") for c in im.captions)
        for index in (3, 11):
            at.session_state["latent_map"] = {"selection": {"points": [{"x": 0.0, "y": 0.0, "customdata": index}]}}
            at.run()
        assert any(c.startswith("your click:") and "#11" in c for im in at.get("image") for c in im.captions)
        spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("latent_map")).proto.spec)
        assert "your path" in [t.get("name") for t in spec["data"]]
    finally:
        page_map.tsne_coords.clear()
