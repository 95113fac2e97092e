"""Traces uploaded on the Denoiser page (radio_data.npz)."""
from __future__ import annotations

import io

import numpy as np

from autoenc.data.radio import load_radio_npz
from autoenc.reliability.bad_inputs import case
from autoenc.reliability.bad_inputs.files import PAYLOAD_MARK, Payload, npz_bytes


def radio_upload(data: bytes, name: str = "radio_data.npz") -> str:
    f = io.BytesIO(data)
    f.name = name
    rs = load_radio_npz(f)
    return f"read {len(rs.traces)} traces"


@case("radio", "not an .npz file")
def radio_not_npz(tmp):
    return radio_upload(b"traces,signals\n1,2\n")


@case("radio", "lacks array(s) signals")
def radio_missing_signals(tmp):
    return radio_upload(npz_bytes(traces=np.zeros((4, 500), np.float32)))


@case("radio", "expected (N, 500)")
def radio_wrong_trace_length(tmp):
    return radio_upload(npz_bytes(traces=np.zeros((4, 400)), signals=np.zeros((4, 400))))


@case("radio", "NaN or infinite")
def radio_nan_values(tmp):
    t = np.zeros((4, 500))
    t[1, 7] = np.nan
    return radio_upload(npz_bytes(traces=t, signals=np.zeros((4, 500))))


@case("radio", "4 traces but 3 signals")
def radio_counts_differ(tmp):
    return radio_upload(npz_bytes(traces=np.zeros((4, 500)), signals=np.zeros((3, 500))))


@case("radio", "object arrays")
def radio_pickled_objects(tmp):
    obj = np.empty(1, dtype=object)
    obj[0] = Payload(str(tmp / PAYLOAD_MARK))
    return radio_upload(npz_bytes(traces=obj, signals=np.zeros((1, 500))))


@case("radio", "not an .npz file")
def radio_truncated(tmp):
    data = npz_bytes(traces=np.ones((50, 500)), signals=np.ones((50, 500)))
    return radio_upload(data[: len(data) - 300])
