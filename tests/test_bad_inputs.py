"""Issue 7's bad-input catalogue: every case refused (or made safe) with a clear message,
nothing written outside the data folder, nothing lost, no pickle ever run."""
from collections import Counter

import pytest

from autoenc.reliability.bad_inputs import CASES, try_case


def test_the_catalogue_covers_uploads_cli_and_settings():
    areas = Counter(c.area for c in CASES)
    assert len(CASES) >= 50 and len({c.name for c in CASES}) == len(CASES)
    assert areas["upload"] >= 20 and areas["cli"] >= 15 and areas["settings"] >= 5
    assert {"radio", "checkpoint", "store", "training"} <= set(areas)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_handled(case, tmp_path):
    outcome = try_case(case, tmp_path / "case")
    assert outcome.handled, outcome.message


def test_the_judge_catches_a_traceback_and_an_accepted_bad_input(tmp_path):
    """try_case must fail cases that crash or let bad input through, or the figures mean nothing."""
    from autoenc.reliability.bad_inputs import Case, upload, good_npz

    def crash(tmp):
        raise KeyError("images")
    assert not try_case(Case("crash", "upload", crash), tmp_path / "a").handled
    assert not try_case(Case("lets_it_in", "upload", lambda tmp: upload(tmp, "ok.npz", good_npz())),
                        tmp_path / "b").handled

    def writes_outside(tmp):
        (tmp.parent / "outside.png").write_bytes(b"x")
        raise __import__("autoenc.errors").errors.UserError("refused")
    assert not try_case(Case("escapes", "upload", writes_outside), tmp_path / "c").handled
