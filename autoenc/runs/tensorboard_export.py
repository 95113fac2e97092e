"""A run as TensorBoard event files: every logged value as a scalar at its step and wall time,
every kept snapshot as an image at its step (TensorBoard's own step slider then walks them).

`python -m autoenc runs export ID --tensorboard DIR`, then `tensorboard --logdir DIR`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from autoenc.animation import trace_frame
from autoenc.runs.bundle import is_image, is_traces
from autoenc.runs.store import RunStore


def export_tensorboard(store: RunStore, run_id: str, out_dir: Path) -> Path:
    """Write the run's event file under out_dir/run_id; returns that folder."""
    from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

    run = store.get(run_id)
    folder = Path(out_dir) / run.id
    with SummaryWriter(log_dir=str(folder)) as writer:
        writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in sorted(run.config.items())), 0)
        for step, name, value, wall in store.metric_rows(run_id):
            if value is not None and np.isfinite(value):
                writer.add_scalar(name, value, step, walltime=wall)
        for name in store.sample_names(run_id):
            for step, array in store.sample_history(run_id, name):
                a = np.asarray(array)
                image = a if is_image(a) else trace_frame(a) if is_traces(a) else None
                if image is not None:
                    writer.add_image(f"samples/{name}", image, step, dataformats="HWC")
    return folder
