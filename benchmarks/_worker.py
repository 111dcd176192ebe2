"""One measurement in a fresh process: ``python benchmarks/_worker.py '{"case": ..., "mode": ..., ...}'``.

``mode="verify"`` evaluates losskit and every peer of a case once (value and gradient) and prints
them; ``mode="measure"`` times one implementation and measures its peak memory. The result is the
last line of stdout, ``RESULT <json>``.

Time: forward + backward (``torch.autograd.grad``, or ``jax.value_and_grad`` under ``jax.jit``,
compiled ahead of time), two warm-up calls, then the median over ``runs`` runs of ``inner`` calls
each (``inner`` makes a run last about 50 ms; ``runs >= 7``).

Memory: peak resident set size over the warm-up and timed calls, minus the resident set size just
before them. The process has imported its libraries, drawn its inputs and compiled (JAX) by then;
the kernel's high-water mark is reset to the current RSS (``/proc/self/clear_refs``), and the peak
is read with ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which reports that high-water mark.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from _cases import Arrays, Case, LossFn, all_cases

import losskit

Step = Callable[[], None]
TARGET_RUN_S = 0.05
CHUNK = 1 << 22


# ---------------------------------------------------------------- inputs per library


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
    """One fused element-wise pass: read the gradient-sized inputs, write a fresh gradient-sized array."""
    import torch

    if len(names) == 1:
        return lambda d: torch.neg(d[names[0]])
    if len(names) == 2:
        return lambda d: torch.sub(d[names[0]], d[names[1]])
    if len(names) == 3:
        return lambda d: torch.addcmul(d[names[0]], d[names[1]], d[names[2]])
    raise ValueError(f"no floor for {len(names)} inputs")


# ---------------------------------------------------------------- one evaluation


def torch_value_grad(fn: LossFn, data: dict[str, Any], grad: tuple[str, ...]) -> tuple[float, list[np.ndarray]]:
    import torch

    leaves = [data[n] for n in grad]
    loss = fn(data)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    out = [np.zeros(x.shape, np.float32) if g is None else g.detach().numpy() for g, x in zip(grads, leaves,
                                                                                               strict=True)]
    return float(loss.detach()), out


def jax_value_and_grad(fn: LossFn, grad: tuple[str, ...]) -> Callable[[dict[str, Any], dict[str, Any]], Any]:
    import jax

    def split(g: dict[str, Any], rest: dict[str, Any]) -> Any:
        return fn({**rest, **g})

    return jax.jit(jax.value_and_grad(split))


def jax_split(data: dict[str, Any], grad: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {k: data[k] for k in grad}, {k: v for k, v in data.items() if k not in grad}


def jax_value_grad(fn: LossFn, data: dict[str, Any], grad: tuple[str, ...]) -> tuple[float, list[np.ndarray]]:
    g, rest = jax_split(data, grad)
    value, grads = jax_value_and_grad(fn, grad)(g, rest)
    return float(value), [np.asarray(grads[n]) for n in grad]


def _chunked_dot(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = a.reshape(-1), b.reshape(-1)
    return math.fsum(float(np.dot(fa[i:i + CHUNK].astype(np.float64), fb[i:i + CHUNK].astype(np.float64)))
                     for i in range(0, fa.size, CHUNK))


class Probe:
    """Fingerprints of a gradient: its projection on fixed random directions and its norm."""

    def __init__(self) -> None:
        self._directions: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}

    def direction(self, index: int, shape: tuple[int, ...]) -> np.ndarray:
        key = (index, shape)
        if key not in self._directions:
            self._directions[key] = np.random.default_rng(1000 + index).standard_normal(shape, dtype=np.float32)
        return self._directions[key]

    def __call__(self, grads: list[np.ndarray]) -> dict[str, float]:
        projection = sum(_chunked_dot(g, self.direction(i, g.shape)) for i, g in enumerate(grads))
        norm = math.sqrt(sum(_chunked_dot(g, g) for g in grads))
        return {"projection": projection, "norm": norm}


def _evaluate(case: Case, arrays: Arrays, key: str, probe: Probe) -> dict[str, Any]:
    try:
        fn, lib = implementation(case, key)
        if lib == "jax":
            value, grads = jax_value_grad(fn, jax_inputs(arrays), case.grad)
        else:
            value, grads = torch_value_grad(fn, torch_inputs(arrays, case.grad), case.grad)
    except ImportError as error:
        return {"error": f"not installed ({error})"}
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"[:300]}
    return {"value": value, **probe(grads)}


def verify(case: Case, arrays: Arrays) -> dict[str, Any]:
    probe = Probe()
    keys = ["ours", *(["ours_jax"] if case.ours_jax else []), *(f"peer:{i}" for i in range(len(case.peers)))]
    return {key: _evaluate(case, arrays, key, probe) for key in keys}


# ---------------------------------------------------------------- timing and memory


def implementation(case: Case, key: str) -> tuple[LossFn, str]:
    """The loss function of ``key`` and its library."""
    if key in ("ours", "ours_nochecks"):
        return case.ours, "torch"
    if key == "ours_jax":
        return case.ours, "jax"
    if key == "floor":
        return floor_fn(case.floor_inputs), "floor"
    peer = case.peers[int(key.split(":")[1])]
    return peer.build(), peer.lib


def make_step(case: Case, arrays: Arrays, key: str) -> Step:
    fn, lib = implementation(case, key)
    if lib == "floor":
        data = torch_inputs(arrays, ())

        def floor_step() -> None:
            fn(data)

        return floor_step
    if lib == "jax":
        import jax

        g, rest = jax_split(jax_inputs(arrays), case.grad)
        compiled = jax_value_and_grad(fn, case.grad).lower(g, rest).compile()

        def jax_step() -> None:
            jax.block_until_ready(compiled(g, rest))

        return jax_step
    import torch

    data = torch_inputs(arrays, case.grad)
    leaves = [data[n] for n in case.grad]

    def step() -> None:
        torch.autograd.grad(fn(data), leaves, allow_unused=True)

    return step


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _settle_memory() -> int:
    """Return freed memory to the system and restart the high-water mark; the resident set size in KiB."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _rss_kib()


def _cpu_ticks() -> tuple[int, int, int]:
    """Busy and total ticks of the machine, and this process's own ticks (all its threads)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    with open("/proc/self/stat") as own:
        mine = own.read().rsplit(")", 1)[1].split()
    return sum(fields) - idle, sum(fields), int(mine[11]) + int(mine[12])


def others_load(start: tuple[int, int, int], end: tuple[int, int, int]) -> float:
    """The share of the machine's CPU time other processes used between two :func:`_cpu_ticks`."""
    busy, total, mine = (b - a for a, b in zip(start, end, strict=True))
    return max(0.0, busy - mine) / max(total, 1)


def wait_until_quiet(limit_s: float, threshold: float = 0.1) -> float:
    """Wait (at most ``limit_s``) until other processes use less than ``threshold`` of the CPUs."""
    deadline = time.monotonic() + limit_s
    while True:
        start = _cpu_ticks()
        time.sleep(0.5)
        load = others_load(start, _cpu_ticks())
        if load < threshold or time.monotonic() > deadline:
            return load


def _clock(step: Step, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def peak_memory_mb(step: Step) -> float:
    """The peak resident set size of one call above the resident set size just before it, in MiB."""
    base = _settle_memory()
    step()
    return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024


def measure(step: Step, quiet_s: float) -> dict[str, Any]:
    warm = min(_clock(step, 1), _clock(step, 1))
    inner = max(1, min(1000, math.ceil(TARGET_RUN_S / max(warm, 1e-7))))
    runs = 7 if warm > 0.5 else 11
    wait_until_quiet(quiet_s)
    ticks = _cpu_ticks()
    times = [_clock(step, inner) for _ in range(runs)]
    load = others_load(ticks, _cpu_ticks())
    return {"ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times), "max_ms": 1e3 * max(times),
            "runs": runs, "inner": inner, "others_load": load, "mb": min(peak_memory_mb(step) for _ in range(3))}


def run(request: dict[str, Any]) -> dict[str, Any]:
    case = all_cases()[request["case"]]
    arrays = case.make(int(request["div"]))
    if request["mode"] == "verify":
        return verify(case, arrays)
    key = request["impl"]
    if key == "ours_nochecks":
        losskit.set_checks(False)
    try:
        step = make_step(case, arrays, key)
    except ImportError as error:
        return {"error": f"not installed ({error})"}
    import torch

    return {**measure(step, float(request.get("quiet_s", 60.0))), "threads": torch.get_num_threads()}


def main() -> None:
    result = run(json.loads(sys.argv[1]))
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
