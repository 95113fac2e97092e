"""A training run as the store records it: its state, and what can be done with it next."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# finished: it trained all its steps (it can be extended by more); stopped: on request, at its
# time limit or while queued, and failed or interrupted (its process died): it can continue.
STATUSES = ("queued", "running", "stopped", "finished", "failed", "interrupted")
ACTIVE = ("queued", "running")
# Why a run ended (runs.end_reason); the page and the Runs page say it in words.
END_REASONS = ("steps", "request", "time_limit", "queue", "diverged", "error", "killed")


@dataclass(frozen=True)
class Run:
    id: str
    model: str
    config: dict
    status: str
    pid: int | None
    heartbeat: float | None
    created: float
    queued_at: float | None
    started: float | None
    ended: float | None
    step: int
    total_steps: int | None
    checkpoint_step: int | None
    stop_requested: bool
    error: str | None
    note: str | None
    max_seconds: float | None = None     # the time limit it trains under (again after a resume)
    end_reason: str | None = None        # END_REASONS, once it has ended
    # step mode (GAN runs): paused, updates asked for and not yet done, the critic updates done
    # (its generator updates are `step`) and a cap on generator steps per second while playing
    paused: bool = False
    pending_critic: int = 0
    pending_generator: int = 0
    critic_steps: int = 0
    speed_limit: float | None = None
    host: str | None = None              # the machine its process runs on (None: a store older than that)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def processes(self) -> int:
        """How many processes train it together (torchrun's world size; 1 without)."""
        return int(self.config.get("world_size", 1))

    @property
    def can_continue(self) -> bool:
        """Stopped by request, by its time limit or by a crash: Resume goes on to its steps."""
        return not self.active and self.status != "finished"

    @property
    def can_extend(self) -> bool:
        """It trained all its steps: "Train N more" raises its total."""
        return self.status == "finished"

    @property
    def progress(self) -> str:
        return f"{self.step:,}/{self.total_steps:,}" if self.total_steps else f"{self.step:,}"

    @property
    def ended_because(self) -> str:
        """Why it ended, in words ('' while it is active or for a run of an older store)."""
        if self.active:
            return ""
        limit = f"{self.max_seconds:g} s" if self.max_seconds else "its time limit"
        return {"steps": f"trained all its {self.total_steps or self.step:,} steps",
                "request": f"stopped on request at {self.progress}",
                "time_limit": f"time limit {limit}, at {self.progress}",
                "queue": "stopped while it waited in the queue",
                "diverged": f"diverged at step {self.step:,}",
                "error": f"failed at step {self.step:,}",
                "killed": f"its process died at step {self.step:,}"}.get(self.end_reason or "", "")

    @property
    def generator_steps(self) -> int:
        return self.step

    def as_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["stop_requested"] = bool(d["stop_requested"])
        d["paused"] = bool(d["paused"])
        d["generator_steps"] = self.generator_steps
        return d
