"""Running an installation: the scheduler's jobs, liveness sentinels, DNS checks, doctor."""

from __future__ import annotations

from canary.ops.doctor import run_doctor
from canary.ops.scheduler import create_scheduler

__all__ = ["create_scheduler", "run_doctor"]
