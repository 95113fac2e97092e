"""Issue 7's bad-input catalogue: every case refused (or made safe) with a clear message,
nothing written outside the data folder, nothing lost, no pickle ever run."""
from collections import Counter

import pytest

from autoenc.reliability.bad_inputs import CASES, Case, try_case


def test_the_catalogue_covers_uploads_cli_and_settings():
    areas = Counter(c.area for c in CASES)
    assert len(CASES) >= 50 and len({c.name for c in CASES}) == len(CASES)
    assert areas["upload"] >= 20 and areas["cli"] >= 15 and areas["settings"] >= 5
    assert {"radio", "checkpoint", "store", "training"} <= set(areas)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_handled(case, tmp_path):
    outcome = try_case(case, tmp_path / case.name / "case")
    assert outcome.handled, outcome.message


def test_the_judge_catches_a_traceback_an_accepted_bad_input_and_the_wrong_reason(tmp_path):
    """try_case must fail cases that crash, let bad input through, write outside their folder or
    refuse for another reason than the one expected, or the figures mean nothing."""
    from autoenc.errors import UserError
    from autoenc.reliability.bad_inputs.files import good_npz
    from autoenc.reliability.bad_inputs.uploads import upload

    def crash(tmp):
        raise KeyError("images")
    assert not try_case(Case("crash", "upload", crash, "images"), tmp_path / "a" / "case").handled
    assert not try_case(Case("lets_it_in", "upload", lambda tmp: upload(tmp, "ok.npz", good_npz()), "stored"),
                        tmp_path / "b" / "case").handled

    def writes_outside(tmp):
        (tmp.parent / "outside.png").write_bytes(b"x")
        raise UserError("refused")
    assert not try_case(Case("escapes", "upload", writes_outside, "refused"), tmp_path / "c" / "case").handled

    def refused(tmp):
        raise UserError("set.npz: the file is empty")
    assert try_case(Case("right", "upload", refused, "the file is empty"), tmp_path / "d" / "case").handled
    wrong = try_case(Case("wrong", "upload", refused, "zip bomb"), tmp_path / "e" / "case")
    assert not wrong.handled and "reason expected ('zip bomb')" in wrong.message
