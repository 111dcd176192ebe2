"""One case or one timing in a fresh process: ``python benchmarks/_worker.py '{"case": ..., "mode": ...}'``
(``{"pair": ...}`` for a row of the JAX or NumPy table, ``_cases_jax_numpy.py``).

``mode="check"`` (one process per case, started with ``MALLOC_MMAP_THRESHOLD_=65536``): for losskit,
every peer and the floor, one after the other, evaluate the value and gradient once, then measure
the peak memory of one forward + backward call.

``mode="time"`` (one process per case, default allocator): time forward + backward of the given
implementations, interleaved.

The result is the last line of stdout, ``RESULT <json>``.

Time: forward + backward (``torch.autograd.grad``; ``jax.value_and_grad`` under ``jax.jit``, compiled
ahead of time; the forward value alone on NumPy), after a warm-up call and a first run. A run calls
the step until 0.2 s have passed and counts seconds per call; the implementations take turns, one
run each per round, in an order that rotates from round to round, and the time is the median of 11
runs (``--quick``: 7 runs of 0.05 s). Runs during which other processes used more than 10% of the
machine's CPU time (from ``/proc/stat``) are dropped and repeated.

Memory: the peak resident set size of one call minus the resident set size just before it. Before
the call the process collects garbage, returns freed heap memory to the system (``malloc_trim``)
and resets the kernel's high-water mark (``/proc/self/clear_refs``); the peak is that mark,
``VmHWM`` of ``/proc/self/status``. With
``MALLOC_MMAP_THRESHOLD_=65536`` every allocation of 64 KiB or more is its own mapping, given back
when freed, so the peak is the largest live set of the call, without allocator fragmentation.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _cases_jax_numpy import NUMPY, Pair, all_pairs

import losskit

from _cases import Arrays, Case, LossFn, all_cases

Step = Callable[[], None]
RUN_S = 0.2
QUICK_RUN_S = 0.05  # --quick: shorter runs, 7 of them
BUSY = 0.1
CHUNK = 1 << 22


# ---------------------------------------------------------------- inputs and implementations


def torch_inputs(arrays: Arrays, grad: tuple[str, ...]) -> dict[str, Any]:
    import torch

    data = {k: torch.from_numpy(v) for k, v in arrays.items()}
    for name in grad:
        data[name].requires_grad_(True)
    return data


def jax_inputs(arrays: Arrays) -> dict[str, Any]:
    import jax.numpy as jnp

    # JAX runs in 32 bits here: int64 labels become int32 (the values fit).
    return {k: jnp.asarray(v.astype(np.int32) if v.dtype == np.int64 else v) for k, v in arrays.items()}


def floor_fn(names: tuple[str, ...]) -> LossFn:
    """One fused element-wise pass: read the gradient-sized inputs, write the preallocated ``d["out"]``."""
    import torch

    if len(names) == 1:
        return lambda d: torch.neg(d[names[0]], out=d["out"])
    if len(names) == 2:
        return lambda d: torch.sub(d[names[0]], d[names[1]], out=d["out"])
    if len(names) == 3:
        return lambda d: torch.addcmul(d[names[0]], d[names[1]], d[names[2]], out=d["out"])
    raise ValueError(f"no floor for {len(names)} inputs")


def implementation(case: Case, key: str) -> tuple[LossFn, str]:
    """The function of ``key`` (``ours``, ``ours_nochecks``, ``ours_jax``, ``floor``, ``peer:<i>``) and its library."""
    if key in ("ours", "ours_nochecks"):
        return case.ours, "torch"
    if key == "ours_jax":
        return case.ours, "jax"
    if key == "floor":
        return floor_fn(case.floor_inputs), "floor"
    peer = case.peers[int(key.split(":")[1])]
    return peer.build(), peer.lib


def pair_implementation(pair: Pair, key: str) -> tuple[LossFn, str]:
    """The function of ``key`` (``ours``, ``ours_nochecks``, ``peer``) of a JAX or NumPy table row, and its library."""
    return (pair.ours if key.startswith("ours") else pair.peer()), pair.table


def jax_value_and_grad(fn: LossFn) -> Any:
    import jax

    def split(g: dict[str, Any], rest: dict[str, Any]) -> Any:
        return fn({**rest, **g})

    return jax.jit(jax.value_and_grad(split))


def jax_split(data: dict[str, Any], grad: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {k: data[k] for k in grad}, {k: v for k, v in data.items() if k not in grad}


class Runner:
    """One implementation on one case's inputs: a step to time, and its value and gradient.

    ``lib`` is ``"torch"``, ``"jax"`` (``value_and_grad`` under ``jax.jit``, compiled ahead of time),
    ``"numpy"`` (the forward value only) or ``"floor"``.
    """

    def __init__(self, fn: LossFn, lib: str, arrays: Arrays, grad: tuple[str, ...],
                 floor_inputs: tuple[str, ...] = ()) -> None:
        self.fn, self.lib, self.grad = fn, lib, grad
        if lib == "jax":
            self.g, self.rest = jax_split(jax_inputs(arrays), grad)
            self.compiled = jax_value_and_grad(fn).lower(self.g, self.rest).compile()
        elif lib == "numpy":
            self.data: dict[str, Any] = dict(arrays)
        elif lib == "floor":
            import torch

            self.data = torch_inputs(arrays, ())
            self.data["out"] = torch.empty_like(self.data[floor_inputs[0]]).fill_(0.0)
        else:
            self.data = torch_inputs(arrays, grad)

    @classmethod
    def of(cls, case: Case, arrays: Arrays, key: str) -> Runner:
        return cls(*implementation(case, key), arrays, case.grad, case.floor_inputs)

    @classmethod
    def of_pair(cls, pair: Pair, arrays: Arrays, key: str) -> Runner:
        return cls(*pair_implementation(pair, key), arrays, pair.grad)

    def step(self) -> None:
        if self.lib in ("floor", "numpy"):
            self.fn(self.data)
        elif self.lib == "jax":
            import jax

            jax.block_until_ready(self.compiled(self.g, self.rest))
        else:
            import torch

            torch.autograd.grad(self.fn(self.data), [self.data[n] for n in self.grad], allow_unused=True)

    def value_and_grads(self) -> tuple[float, list[np.ndarray]]:
        if self.lib == "numpy":
            return float(self.fn(self.data)), []
        if self.lib == "jax":
            value, grads = self.compiled(self.g, self.rest)
            return float(value), [np.asarray(grads[n]) for n in self.grad]
        import torch

        leaves = [self.data[n] for n in self.grad]
        loss = self.fn(self.data)
        grads = torch.autograd.grad(loss, leaves, allow_unused=True)
        return float(loss.detach()), [torch.zeros_like(x).numpy() if g is None else g.numpy()
                                      for g, x in zip(grads, leaves, strict=True)]


# ---------------------------------------------------------------- values and memory


def _chunked_dot(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = a.reshape(-1), b.reshape(-1)
    return math.fsum(float(np.dot(fa[i:i + CHUNK].astype(np.float64), fb[i:i + CHUNK].astype(np.float64)))
                     for i in range(0, fa.size, CHUNK))


class Probe:
    """Fingerprints of a gradient: its projection on fixed random directions, and its norm."""

    def __init__(self) -> None:
        self._directions: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}

    def _direction(self, index: int, shape: tuple[int, ...]) -> np.ndarray:
        key = (index, shape)
        if key not in self._directions:
            self._directions[key] = np.random.default_rng(1000 + index).standard_normal(shape, dtype=np.float32)
        return self._directions[key]

    def __call__(self, grads: list[np.ndarray]) -> dict[str, float]:
        projection = sum(_chunked_dot(g, self._direction(i, g.shape)) for i, g in enumerate(grads))
        norm = math.sqrt(sum(_chunked_dot(g, g) for g in grads))
        return {"projection": projection, "norm": norm}


def _status_kib(field: str) -> int:
    """``VmRSS`` (resident set size) or ``VmHWM`` (its high-water mark) of this process, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _settle_memory() -> int:
    """Give freed memory back, restart the high-water mark; the resident set size in KiB."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_kib("VmRSS")


def peak_memory_mb(step: Step) -> float:
    """The peak resident set size of one call above the resident set size just before it, in MiB."""
    base = _settle_memory()
    step()
    # VmHWM, not getrusage's ru_maxrss: that one keeps the parent's resident set size from before
    # exec, larger than a small worker's whole peak.
    return max(0, _status_kib("VmHWM") - base) / 1024


def _check_one(make: Callable[[], Runner], key: str, probe: Probe) -> dict[str, Any]:
    previous = losskit.set_checks(key != "ours_nochecks")
    try:
        runner = make()
        result: dict[str, Any] = {}
        if runner.lib != "floor":
            value, grads = runner.value_and_grads()
            result = {"value": value, **probe(grads)}
            del grads
        runner.step()
        return {**result, "mb": min(peak_memory_mb(runner.step) for _ in range(2))}
    except ImportError as error:
        return {"error": f"not installed ({error})"}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"[:300]}
    finally:
        losskit.set_checks(previous)


def shape_label(case: Case, arrays: Arrays) -> str:
    label = "x".join(map(str, arrays[case.grad[0]].shape))
    if len(case.grad) > 1:
        label = f"{len(case.grad)} x {label}"
    if case.group == "embeddings" and "labels" in arrays:
        label += f", {len(np.unique(arrays['labels']))} classes"
    return label


def check(case: Case, arrays: Arrays, div: int) -> dict[str, Any]:
    probe = Probe()
    keys = ["ours", "ours_nochecks", *(["ours_jax"] if case.ours_jax else []), "floor",
            *(f"peer:{i}" for i in range(len(case.peers)))]
    results = {}
    for key in keys:
        skip = case.peers[int(key[5:])].skip_full if key.startswith("peer:") and div == 1 else ""
        results[key] = {"error": skip} if skip else _check_one(lambda k=key: Runner.of(case, arrays, k), key, probe)
    return {"shape": shape_label(case, arrays), **results}


def pair_keys(pair: Pair) -> list[str]:
    """losskit (and, on NumPy, losskit without value checks; under ``jax.jit`` they never run) and the peer."""
    return ["ours", *(["ours_nochecks"] if pair.table == NUMPY else []), "peer"]


def check_pair(pair: Pair, arrays: Arrays) -> dict[str, Any]:
    probe = Probe()
    results = {key: _check_one(lambda k=key: Runner.of_pair(pair, arrays, k), key, probe) for key in pair_keys(pair)}
    first = arrays[pair.grad[0] if pair.grad else next(iter(arrays))]
    shape = "x".join(map(str, first.shape))
    return {"shape": f"{len(pair.grad)} x {shape}" if len(pair.grad) > 1 else shape, **results}


# ---------------------------------------------------------------- time


def _cpu_ticks() -> tuple[int, int, int]:
    """Busy and total ticks of the machine, and this process's own ticks (all its threads)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    with open("/proc/self/stat") as own:
        mine = own.read().rsplit(")", 1)[1].split()
    return sum(fields) - idle, sum(fields), int(mine[11]) + int(mine[12])


def _others_load(start: tuple[int, int, int], end: tuple[int, int, int]) -> float:
    """The share of the machine's CPU time other processes used between two :func:`_cpu_ticks`."""
    busy, total, mine = (b - a for a, b in zip(start, end, strict=True))
    return max(0.0, busy - mine) / max(total, 1)


def _run(step: Step, run_s: float) -> tuple[float, float]:
    """Seconds per call over calls lasting at least ``run_s`` in all, and the others' load meanwhile."""
    ticks = _cpu_ticks()
    calls, start = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= run_s:
            return elapsed / calls, _others_load(ticks, _cpu_ticks())


class Samples:
    """The runs of one implementation: kept (undisturbed) and dropped (with the others' load)."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self.clean: list[float] = []
        self.busy: list[tuple[float, float]] = []

    def add(self, seconds: float, load: float) -> None:
        if load < BUSY:
            self.clean.append(seconds)
        else:
            self.busy.append((load, seconds))

    def summary(self, runs: int) -> dict[str, Any]:
        """Median of the clean runs; the least disturbed runs fill up to ``runs`` if needed."""
        times = self.clean + [t for _, t in sorted(self.busy)[:max(0, runs - len(self.clean))]]
        return {"ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times), "max_ms": 1e3 * max(times),
                "runs": len(times), "disturbed": len(times) - len(self.clean), "dropped": len(self.busy)}


def measure_times(steps: dict[str, Step], busy_limit_s: float, quick: bool) -> dict[str, dict[str, Any]]:
    """Time the steps interleaved, one run of each per round, so that a slow spell of the machine
    falls on all of them: 11 undisturbed runs each (7 with ``quick``).

    A run during which other processes used ``BUSY`` or more of the machine is dropped and repeated
    in a later round, until ``busy_limit_s`` have passed; then the least disturbed runs fill the count.
    """
    run_s = QUICK_RUN_S if quick else RUN_S
    samples = [Samples(step) for step in steps.values()]
    for s in samples:
        s.step()
        _run(s.step, run_s)
    runs = 7 if quick else 11
    deadline = time.monotonic() + busy_limit_s
    rounds = 0
    while any(len(s.clean) < runs for s in samples):
        # The order rotates: after a JAX call or a large free, the next call can pay for the
        # machine's memory management; no implementation should always be the one that follows it.
        shift = rounds % len(samples)
        for s in samples[shift:] + samples[:shift]:
            s.add(*_run(s.step, run_s))
        rounds += 1
        if time.monotonic() > deadline and all(len(s.clean) + len(s.busy) >= runs for s in samples):
            break
    return {key: s.summary(runs) for key, s in zip(steps, samples, strict=True)}


def _without_checks(step: Step) -> Step:
    def unchecked() -> None:
        with losskit.checks(False):
            step()

    return unchecked


def time_all(runners: dict[str, Callable[[], Runner]], busy_limit_s: float, quick: bool) -> dict[str, Any]:
    steps: dict[str, Step] = {}
    errors: dict[str, Any] = {}
    for key, make in runners.items():
        try:
            step = make().step
        except Exception as error:
            errors[key] = {"error": f"{type(error).__name__}: {error}"[:300]}
            continue
        steps[key] = _without_checks(step) if key == "ours_nochecks" else step
    timed = measure_times(steps, busy_limit_s, quick)
    threads = {"threads": sys.modules["torch"].get_num_threads()} if "torch" in sys.modules else {}
    return {**errors, **{k: {**v, **threads} for k, v in timed.items()}}


def run(request: dict[str, Any]) -> dict[str, Any]:
    """A case's (``"case"``) or a JAX / NumPy table row's (``"pair"``) check or timing."""
    div = int(request["div"])
    busy_limit_s, quick = float(request.get("busy_limit_s", 120.0)), div > 1
    if "pair" in request:
        pair = all_pairs()[request["pair"]]
        arrays = pair.make(div)
        if request["mode"] == "check":
            return check_pair(pair, arrays)
        return time_all({k: lambda k=k: Runner.of_pair(pair, arrays, k) for k in request["impls"]}, busy_limit_s,
                        quick)
    case = all_cases()[request["case"]]
    arrays = case.make(div)
    if request["mode"] == "check":
        return check(case, arrays, div)
    return time_all({k: lambda k=k: Runner.of(case, arrays, k) for k in request["impls"]}, busy_limit_s, quick)


def main() -> None:
    result = run(json.loads(sys.argv[1]))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
