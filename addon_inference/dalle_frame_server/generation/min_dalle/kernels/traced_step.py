"""Decoder steps on the CPU replayed from a TorchScript trace: the same kernels, no Python between.

One min-dalle decoder step is thousands of small tensor operations (mini: 12 layers of norms,
attention, projections; the int8 drafter adds several per projection to quantize its input:
the profiler counted about 3,900 ATen calls per int8 draft step, views and nested calls
included). On the CPU each costs microseconds of Python and dispatch around a kernel that is
itself often no longer than that: an int8 draft step of mini took 19-21 ms eagerly and
13.8 ms replayed from a trace (fp16 21-24 -> 16-17 ms, the exact float32 step 57-60 ->
53-55 ms; 2-core EPYC, every library capped at AVX2, one-off measurement).

The drafting backends (`int8`, `fp16`, `int8-raw`) step this way; `fast` and the drafts'
float32 checker step eagerly (fast.py, `traced_steps`: their steps are GEMM-bound, and a
traced `fast` image was no quicker within the noise).

`TracedStepRunner` records one step with `torch.jit.trace` per (rows, torch threads) and
replays that record with TorchScript's graph optimizations off
(`torch.jit.optimized_execution(False)`), so the same ATen, MKL and fbgemm kernels run in the
same order on the same tensors: nothing is fused or reordered, and the logits are the eager
step's bit for bit. That is checked, not assumed: the first step of every trace also runs
eagerly on the same buffers (a step rewrites only its own cache slot, with the same values),
and a trace whose logits or cache slot differ in any bit is dropped for eager steps, as is
one that fails to record.

What a trace fixes: the Python branches taken while recording (the stacking plan and the
column-split verdicts of that row count, made by the eager step before it; the thread count
is in the key because the verdicts depend on it). What stays an input: every `DecodeBuffers`
tensor, the step index included, so one trace serves every step of every batch of that size.
fbgemm's packed weights (int8, fp16) are TorchScript objects, which a trace passes to
operations only as attributes of the traced module: `_StepModule` holds every one reachable
from the decoder's weights.

torch 2.13 (the version pinned here) calls `torch.jit.trace` deprecated in favour of
`torch.compile`, which on the CPU needs a C++ compiler at run time (not in the add-on image),
or `torch.export`, whose programs run op by op from Python again. Tracing still works there;
where a later torch drops it, the failure is caught and steps run eagerly (and
tests/server/test_traced_step.py fails, so an upgrade cannot lose the speed unnoticed).
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from dataclasses import fields
from typing import Final

import torch
from torch import nn

from .decoder import DecodeBuffers, FastDecoder

_LOGGER = logging.getLogger(__name__)

KEPT_TRACES: Final = 8
"""Traces kept at once (one per row count and thread count in use). A trace refers to the
decoder's weights without copying them: an int8 image of mini peaked at 1508-1514 MB traced,
1473-1494 MB eager."""

BUFFER_FIELDS: Final = tuple(field.name for field in fields(DecodeBuffers) if field.name != "rows")
"""The `DecodeBuffers` tensors, in the order the traced step takes them."""

_SCALARS: Final = (torch.Tensor, str, bytes, int, float, bool, type(None))


def script_objects(root: object) -> list[torch.ScriptObject]:
    """Return every TorchScript object (fbgemm's packed weights) reachable from `root`.

    Walks attributes (instance dicts and slots), sequences and mappings, each object once.
    """
    found: list[torch.ScriptObject] = []
    seen: set[int] = set()
    pending: list[object] = [root]
    while pending:
        item = pending.pop()
        if isinstance(item, _SCALARS) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, torch.ScriptObject):
            found.append(item)
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        else:
            pending.extend(getattr(item, "__dict__", {}).values())
            for owner in type(item).__mro__:
                for name in owner.__dict__.get("__slots__", ()):
                    pending.append(getattr(item, name, None))
    return found


class _StepModule(nn.Module):
    """What is traced: the decoder's step over buffers passed as tensors (see the module doc)."""

    def __init__(self, decoder: FastDecoder, rows: int) -> None:
        super().__init__()
        self.decoder = decoder
        self.rows = rows
        for index, packed in enumerate(script_objects(decoder.weights)):
            setattr(self, f"packed_{index}", packed)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        """Run `decoder.step` on the buffers made of `tensors` (in `BUFFER_FIELDS` order)."""
        return self.decoder.step(DecodeBuffers(self.rows, *tensors))


def buffer_tensors(buffers: DecodeBuffers) -> tuple[torch.Tensor, ...]:
    """Return the buffers' tensors in `BUFFER_FIELDS` order."""
    return tuple(getattr(buffers, name) for name in BUFFER_FIELDS)


def trace_step(decoder: FastDecoder, buffers: DecodeBuffers) -> torch.jit.ScriptModule | None:
    """Trace one step on `buffers` and check the trace against an eager step (module doc).

    Runs the step three times on `buffers` (eager, recording, traced), all at `step_index`,
    so the caches end as after one step. Returns None (and logs why) where the trace fails
    or differs from the eager step.
    """
    tensors = buffer_tensors(buffers)
    slot = int(buffers.step_index[0])
    with torch.inference_mode():
        expected = decoder.step(buffers).clone()
        expected_slot = _cache_slot(buffers, slot)
        try:
            with warnings.catch_warnings():
                # Shapes compared while recording are fixed per trace, as intended; and
                # torch 2.13 calls tracing deprecated (see the module doc).
                warnings.simplefilter("ignore", torch.jit.TracerWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                traced = torch.jit.trace(
                    _StepModule(decoder, buffers.rows), tensors, check_trace=False
                )
            with torch.jit.optimized_execution(False):
                logits = traced(*tensors)
        except (AttributeError, NotImplementedError, RuntimeError, TypeError, ValueError) as error:
            _LOGGER.warning("Decoder steps run eagerly: tracing the step failed (%s)", error)
            return None
        same = torch.equal(logits, expected) and all(
            torch.equal(ours, theirs)
            for ours, theirs in zip(_cache_slot(buffers, slot), expected_slot, strict=True)
        )
    if not same:
        _LOGGER.warning(
            "Decoder steps run eagerly: the traced step of %d rows differs from the eager one",
            buffers.rows,
        )
        return None
    _LOGGER.debug("Traced the decoder step for %d rows", buffers.rows)
    return traced


def _cache_slot(buffers: DecodeBuffers, slot: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return copies of the keys and values a step at `slot` wrote."""
    return buffers.keys_t[..., slot].clone(), buffers.values[:, :, :, slot].clone()


class TracedStepRunner:
    """Fresh buffers per batch, steps replayed from a checked trace per row and thread count."""

    def __init__(self, decoder: FastDecoder, device: torch.device) -> None:
        if device.type != "cpu":
            raise ValueError(f"traced steps are for the CPU, not {device.type}")
        self.decoder = decoder
        self.device = device
        self._traces: OrderedDict[tuple[int, int], torch.jit.ScriptModule | None]
        self._traces = OrderedDict()

    def buffers(self, rows: int) -> DecodeBuffers:
        """Allocate buffers for `rows` rows."""
        return self.decoder.new_buffers(rows, self.device)

    def step(self, buffers: DecodeBuffers) -> torch.Tensor:
        """Run one step from the trace of these rows (traced and checked the first time)."""
        key = (buffers.rows, torch.get_num_threads())
        if key in self._traces:
            self._traces.move_to_end(key)
            traced = self._traces[key]
        else:
            while len(self._traces) >= KEPT_TRACES:
                self._traces.popitem(last=False)
            traced = self._traces[key] = trace_step(self.decoder, buffers)
        if traced is None:
            return self.decoder.step(buffers)
        with torch.jit.optimized_execution(False):
            return traced(*buffer_tensors(buffers))

    def is_traced(self, rows: int) -> bool:
        """Whether steps of `rows` rows (at this thread count) replay a trace."""
        return self._traces.get((rows, torch.get_num_threads())) is not None
