"""Will it fit? The device's free memory against the analysis's estimate, before anything is allocated.

A design that needs more than the machine has must be refused in one line *before* its tensors
exist: on Linux an allocation beyond the free memory often succeeds and the kernel's OOM killer
ends the process later, losing everything. The estimates come from ``convviz.analysis.memory``;
this module knows the devices:

- CUDA: ``torch.cuda.mem_get_info`` (what the driver has free) plus what PyTorch's caching
  allocator holds but does not use;
- the CPU: ``convviz.sysmem.free_memory`` (``MemAvailable`` and the cgroup's limit on Linux,
  ``GlobalMemoryStatusEx`` on Windows; unknown elsewhere: no check);
- MPS: the recommended working set less what is allocated.

``MemoryBudgetError`` is the one error of this family: what is needed, what is free, what to change.
"""

from __future__ import annotations

import torch

from .. import sysmem
from ..analysis.memory import MemoryEstimate
from ..i18n import tr
from ..messages import first_line, size_in_bytes


class MemoryBudgetError(ValueError):
    """The work does not fit the device's memory: one line with the estimate and the fix."""


def free_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes this process could still allocate on ``device``, or None when it cannot be known."""
    device = torch.device(device)
    try:
        if device.type == "cuda":
            index = device.index if device.index is not None else torch.cuda.current_device()
            free, _ = torch.cuda.mem_get_info(index)
            return int(free + torch.cuda.memory_reserved(index) - torch.cuda.memory_allocated(index))
        if device.type == "mps":
            return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
    except (RuntimeError, AttributeError):
        return None
    return sysmem.free_memory()


def require_memory(estimate: MemoryEstimate, device: torch.device | str, what: str, advice: str = "") -> None:
    """Raise ``MemoryBudgetError`` when ``estimate`` exceeds the free memory of ``device``.

    ``what`` names the work ("training", "explaining this image"); ``advice`` is the fix to suggest
    (the batch size that fits, a smaller input)."""
    device = torch.device(device)
    free = free_memory(device)
    if free is None or estimate.total <= free:
        return
    raise MemoryBudgetError(tr("{what} needs {estimate}, but {device} has {free} free: {advice}").format(
        what=what, estimate=estimate.describe(), device=describe(device), free=_size(free),
        advice=advice or tr("use a smaller input or design")))


def batch_advice(estimate: MemoryEstimate, device: torch.device | str) -> str:
    """The fix for a training run that does not fit: the largest batch size that does, or why none does."""
    free = free_memory(device)
    if free is None:
        return tr("use a smaller batch size or design")
    largest = estimate.largest_batch(free)
    if largest >= 1:
        return tr("use batch size {n} or less").format(n=largest)
    if estimate.fixed > free:
        return tr("the weights alone do not fit: use a smaller design")
    return tr("not even one image fits: use a smaller input or downsample earlier (stride 2)")


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's and MPS's "out of memory", the CPU allocator's "can't allocate memory", Python's MemoryError."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "defaultcpuallocator" in text)


def out_of_memory_message(exc: BaseException, device: torch.device | str, estimate: MemoryEstimate | None,
                          advice: str) -> str:
    """One line for an allocation that failed anyway: where, the estimate, what is free, the fix."""
    device = torch.device(device)
    free = free_memory(device)
    known = tr("; the estimate was {estimate}").format(estimate=estimate.describe()) if estimate else ""
    room = tr(", {free} free now").format(free=_size(free)) if free is not None else ""
    reason = first_line(exc, 120) if not isinstance(exc, MemoryError) else "MemoryError"
    return tr("out of memory on {device} ({reason}){known}{room}: {advice}").format(
        device=describe(device), reason=reason, known=known, room=room, advice=advice)


def describe(device: torch.device) -> str:
    return tr("the CPU") if device.type == "cpu" else str(device)


def _size(n: int) -> str:
    return size_in_bytes(max(0, n))


__all__ = ["MemoryBudgetError", "batch_advice", "free_memory", "is_out_of_memory",
           "out_of_memory_message", "require_memory"]
