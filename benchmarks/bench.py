"""losskit against its peers: forward + backward time and peak memory, side by side in one run.

    python benchmarks/bench.py                 # the issue's shapes; writes benchmarks/results.md
    python benchmarks/bench.py --quick         # every size divided by about 16; prints only
    python benchmarks/bench.py --only dice,mse # some cases (or groups: segmentation, regression, ...)
    python benchmarks/bench.py --only jax,numpy   # the tables against optax (jit) and scikit-learn/SciPy
    python benchmarks/bench.py --profile --only dice  # torch.profiler's top operators instead

Each case runs first in a fresh "check" process that evaluates losskit, every installed peer and the
floor once, compares the values (rtol 1e-4, float32) and gradients, and measures the peak memory of
one call of each; then the implementations that agree with losskit are timed, taking turns, in a
second fresh process. A peer that disagrees is reported as a mismatch, not timed: a different
definition is a bug of the benchmark, not a result. See ``_worker.py`` for how time and memory are
measured, ``_cases.py`` for the cases and ``_profile.py`` for ``--profile``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from _cases_jax_numpy import JAX, JAX_TARGET, NUMPY, NUMPY_TARGET, Pair, all_pairs

from _cases import COMPOSITE, ELEMENTWISE, MINING_ALL, NATIVE, Case, all_cases

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_worker.py"
RTOL, ATOL = 1e-4, 1e-7
GRAD_RTOL = 1e-3
QUICK_DIV = 16
OURS, OURS_OFF, OURS_JAX, FLOOR, PEER = "ours", "ours_nochecks", "ours_jax", "floor", "peer"


@dataclass
class Measured:
    """One implementation of one case: its check (value, gradient, memory) and its timing."""

    key: str
    name: str
    check: dict[str, Any]
    status: str = "ok"
    timing: dict[str, Any] = field(default_factory=dict)

    @property
    def ms(self) -> float | None:
        return self.timing.get("ms")

    @property
    def mb(self) -> float | None:
        return self.check.get("mb")


@dataclass
class Result:
    case: Case
    shape: str
    impls: dict[str, Measured]

    def peers(self) -> list[Measured]:
        return [m for k, m in self.impls.items() if k.startswith("peer:")]

    def best_peer(self) -> Measured | None:
        timed = [m for m in self.peers() if m.ms is not None]
        return min(timed, key=lambda m: m.ms or 0.0) if timed else None

    def native_peer(self) -> Measured | None:
        for i, peer in enumerate(self.case.peers):
            if peer.native:
                return self.impls[f"peer:{i}"]
        return None


@dataclass
class PairResult:
    """A row of the JAX or NumPy table: losskit (checks on and, on NumPy, off) and one peer."""

    pair: Pair
    shape: str
    impls: dict[str, Measured]

    def ratio(self, key: str = OURS) -> float | None:
        ours, peer = self.impls.get(key), self.impls.get(PEER)
        return _ratio(ours.ms if ours else None, peer.ms if peer else None)


# ---------------------------------------------------------------- processes


def worker(request: dict[str, Any], env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run ``_worker.py`` on ``request`` in a fresh process; its result, or ``{"error": ...}``."""
    try:
        done = subprocess.run([sys.executable, str(WORKER), json.dumps(request)], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, **(env or {})}, cwd=HERE)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT "):])
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"error": f"worker failed (exit {done.returncode}): {' | '.join(tail)}"[:400]}


def agreement(ours: dict[str, Any], other: dict[str, Any]) -> str:
    """``"ok"``, or why ``other`` does not compute losskit's value and gradient."""
    if "error" in other:
        return other["error"]
    a, b = ours["value"], other["value"]
    if not abs(a - b) <= RTOL * abs(a) + ATOL:
        return f"mismatch: value {b:.7g} vs losskit {a:.7g}"
    # The projection on a random unit-variance direction has the gradient's norm as its scale.
    tolerance = GRAD_RTOL * max(ours["norm"], other["norm"])
    gaps = (abs(ours["projection"] - other["projection"]), abs(ours["norm"] - other["norm"]))
    if max(gaps) > tolerance:
        return f"mismatch: gradient (norm {other['norm']:.6g} vs losskit {ours['norm']:.6g})"
    return "ok"


def impl_name(case: Case, key: str) -> str:
    names = {OURS: "losskit", OURS_OFF: "losskit, checks off", OURS_JAX: "losskit on JAX (jit)", FLOOR: "floor"}
    return names.get(key) or case.peers[int(key.split(":")[1])].name


def measure(request: dict[str, Any], names: Callable[[str], str], busy_limit_s: float,
            log: Any) -> tuple[str, dict[str, Measured]]:
    """Check, then time, the implementations of one case or table row (``request`` names it and its size)."""
    checked = worker({**request, "mode": "check"}, env={"MALLOC_MMAP_THRESHOLD_": "65536"})
    shape = checked.pop("shape", "?")
    if set(checked) == {"error"}:  # the check process itself failed
        print(f"    check failed: {checked['error']}", file=log, flush=True)
        checked = {OURS: checked}
    ours = checked[OURS]
    impls = {key: Measured(key, names(key), check) for key, check in checked.items()}
    if "error" in ours:
        for m in impls.values():
            m.status = f"losskit failed: {ours['error']}"
        return shape, impls
    for key, m in impls.items():
        if key not in (OURS, OURS_OFF, FLOOR):
            m.status = agreement(ours, m.check)
        elif "error" in m.check:
            m.status = m.check["error"]
    for m in impls.values():
        if m.status != "ok":
            print(f"    {m.name}: {m.status}", file=log, flush=True)
    keys = [key for key, m in impls.items() if m.status == "ok"]
    timed = worker({**request, "mode": "time", "impls": keys, "busy_limit_s": busy_limit_s})
    for key in keys:
        m = impls[key]
        m.timing = timed.get(key, {"error": timed.get("error", "no timing")})
        if "error" in m.timing:
            m.status, m.timing = m.timing["error"], {}
        print(f"    {m.name}: {_fmt(m.ms, 3)} ms, {_fmt(m.mb, 1)} MB", file=log, flush=True)
    return shape, impls


def run_case(case: Case, div: int, busy_limit_s: float, log: Any) -> Result:
    return Result(case, *measure({"case": case.name, "div": div}, lambda key: impl_name(case, key), busy_limit_s, log))


def run_pair(pair: Pair, div: int, busy_limit_s: float, log: Any) -> PairResult:
    names = {OURS: "losskit", OURS_OFF: "losskit, checks off", PEER: pair.peer_name}
    return PairResult(pair, *measure({"pair": pair.name, "div": div}, names.__getitem__, busy_limit_s, log))


# ---------------------------------------------------------------- the table


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits + 1}g}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _memory_within(ours: float | None, peer: float | None, limit: float) -> bool:
    """``ours <= limit * peer`` up to the measurement's resolution (0.5 MB)."""
    return ours is None or peer is None or ours <= limit * peer + 0.5


def _memory_ratio(ours: float | None, peer: float | None) -> float | None:
    """ours / peer, or ``None`` when both use less than the measurement's resolution (0.5 MB)."""
    if ours is None or peer is None or max(ours, peer) < 0.5:
        return None
    return ours / max(peer, 0.5)


def _times(ratio: float | None) -> str:
    return "n/a (< 0.5 MB)" if ratio is None else f"{ratio:.2f}x"


def verdict(r: Result) -> str:
    """The issue's target for this case, and whether this run meets it."""
    ours, floor = r.impls.get(OURS), r.impls.get(FLOOR)
    if ours is None or ours.ms is None:
        return "no result"
    target = r.case.target
    if target == ELEMENTWISE:
        t = _ratio(ours.ms, floor.ms if floor else None)
        return "-" if t is None else f"<= 2x floor: {t:.2f}x " + ("met" if t <= 2 else "MISSED")
    if target == NATIVE:
        peer = r.native_peer()
        if peer is None or peer.ms is None:
            return "native kernel: no result"
        t, m = _ratio(ours.ms, peer.ms), _memory_ratio(ours.mb, peer.mb)
        ok = t is not None and t <= 1.05 and _memory_within(ours.mb, peer.mb, 1.0)
        return f"vs {peer.name}: time {t:.2f}x, memory {_times(m)} " + ("met" if ok else "MISSED")
    best = r.best_peer()
    if best is None or best.ms is None:
        return "no peer"
    speed, m = best.ms / ours.ms, _memory_ratio(ours.mb, best.mb)
    if target == MINING_ALL:
        return f">= 10x: {speed:.1f}x " + ("met" if speed >= 10 else "MISSED")
    if target == COMPOSITE:
        ok = speed >= 2 and _memory_within(ours.mb, best.mb, 0.5)
        return f">= 2x, <= 0.5x memory: {speed:.2f}x, memory {_times(m)} " + ("met" if ok else "MISSED")
    return "-"


HEADER = ("loss", "shape", "ours ms", "ours ms (checks off)", "best peer ms", "best peer", "speed-up", "ours MB",
          "best peer MB", "ours/floor", "issue target")


def row(r: Result) -> tuple[str, ...]:
    ours, off, floor = r.impls.get(OURS), r.impls.get(OURS_OFF), r.impls.get(FLOOR)
    best = r.best_peer()
    if best is not None:
        speed_up = _ratio(best.ms, ours.ms if ours else None)
        peer_ms, peer, peer_mb = _fmt(best.ms), best.name, _fmt(best.mb)
        speed = "-" if speed_up is None else f"{speed_up:.2f}x"
    else:
        mismatched = [m for m in r.peers() if m.status != "ok"]
        peer_ms, speed, peer_mb = "-", "-", "-"
        peer = "; ".join(f"{m.name}: {m.status}" for m in mismatched) or "no peer"
        if mismatched:
            speed = "mismatch"
    floor_ratio = _ratio(ours.ms if ours else None, floor.ms if floor else None)
    return (r.case.name, r.shape, _fmt(ours.ms if ours else None), _fmt(off.ms if off else None), peer_ms, peer, speed,
            _fmt(ours.mb if ours else None), peer_mb, "-" if floor_ratio is None else f"{floor_ratio:.1f}x",
            verdict(r))


def text_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER, clip: int = 5,
               numbers: range = range(2, 10)) -> str:
    """Columns padded to their widest cell; column ``clip`` cut at 44 characters, ``numbers`` right-aligned."""
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    widths[clip] = min(widths[clip], 44)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c[:w].ljust(w) if i == clip else c.rjust(w) if i in numbers else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *(line(x) for x in rows)])


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(x) for x in rows)])


def details(results: list[Result | PairResult]) -> str:
    header = ("loss", "implementation", "status", "ms (median)", "ms (min-max)", "runs", "MB", "value")
    rows = []
    for r in results:
        name = r.case.name if isinstance(r, Result) else r.pair.name
        for m in r.impls.values():
            t = m.timing
            spread = f"{_fmt(t['min_ms'])}-{_fmt(t['max_ms'])}" if t else "-"
            runs = f"{t['runs']}" + (f" ({t['disturbed']} disturbed)" if t.get("disturbed") else "") if t else "-"
            value = f"{m.check['value']:.7g}" if "value" in m.check else "-"
            rows.append((name, m.name, m.status, _fmt(m.ms, 3), spread, runs, _fmt(m.mb), value))
    return markdown_table(header, rows)


# ---------------------------------------------------------------- the JAX and NumPy tables


JAX_HEADER = ("row", "losskit", "shape", "optax", "ours ms", "optax ms", "ours/optax", "ours MB", "optax MB",
              f"target <= {JAX_TARGET:.2f}x")
NUMPY_HEADER = ("row", "losskit", "shape", "peer", "ours ms", "ours ms (checks off)", "peer ms", "ours/peer",
                "ours/peer (checks off)", f"target <= {NUMPY_TARGET:.2f}x")


def _within(ratio: float | None, target: float) -> str:
    return "-" if ratio is None else "met" if ratio <= target else "MISSED"


def pair_row(r: PairResult) -> tuple[str, ...]:
    ours, off, peer = r.impls.get(OURS), r.impls.get(OURS_OFF), r.impls.get(PEER)
    ratio, ratio_off = r.ratio(), r.ratio(OURS_OFF)
    if peer is not None and peer.status != "ok":
        verdict = peer.status
    elif r.pair.table == JAX:
        verdict = _within(ratio, JAX_TARGET)
    else:
        verdict = _within(ratio, NUMPY_TARGET)
        if verdict == "MISSED" and _within(ratio_off, NUMPY_TARGET) == "met":
            verdict += " (met with checks off)"
    ms = [_fmt(m.ms if m else None) for m in (ours, off, peer)]
    times = [f"{x:.2f}x" if x is not None else "-" for x in (ratio, ratio_off)]
    cells = (r.pair.name, r.pair.loss, r.shape, r.pair.peer_name)
    if r.pair.table == JAX:
        return (*cells, ms[0], ms[2], times[0], _fmt(ours.mb if ours else None), _fmt(peer.mb if peer else None),
                verdict)
    return (*cells, ms[0], ms[1], ms[2], times[0], times[1], verdict)


def pair_tables(results: list[PairResult]) -> dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """The JAX and the NumPy table (header and rows), each where it has rows."""
    tables = {}
    for table, header in ((JAX, JAX_HEADER), (NUMPY, NUMPY_HEADER)):
        rows = [pair_row(r) for r in results if r.pair.table == table]
        if rows:
            tables[table] = (header, rows)
    return tables


PAIR_TITLES = {JAX: "JAX: losskit against optax, both under jax.jit(jax.value_and_grad(...))",
               NUMPY: "NumPy: losskit against scikit-learn and SciPy, forward value"}


def notes(results: list[Result]) -> list[str]:
    out = [f"* {r.case.name}: {r.case.note}" for r in results if r.case.note]
    by_name = {r.case.name: r for r in results}
    sparse, dense = by_name.get("sparse_ce"), by_name.get("categorical_ce")
    if sparse and dense:
        for key, label in ((OURS, "losskit"), ("peer:0", "F.cross_entropy")):
            a, b = dense.impls.get(key), sparse.impls.get(key)
            ratio = _ratio(a.ms if a else None, b.ms if b else None)
            if ratio is not None:
                out.append(f"* categorical (probability targets) / sparse (indices) cross-entropy time, {label}, "
                           f"{sparse.shape}: {ratio:.2f}x")
    return out


# ---------------------------------------------------------------- the machine


def machine() -> dict[str, str]:
    import torch

    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        ram_kib = int(info.readline().split()[1])
    versions = ", ".join(f"{p} {_version(p)}" for p in ("torch", "jax", "jaxlib", "optax", "numpy", "keras", "monai",
                                                        "kornia", "pytorch-metric-learning", "array-api-compat"))
    return {"CPU": f"{cpu}, {os.cpu_count()} logical cores", "RAM": f"{ram_kib / 2**20:.1f} GiB",
            "OS": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
            "threads": f"torch {torch.get_num_threads()} (default, not set); JAX/XLA CPU: its default pool",
            "versions": versions, "losskit": _git()}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE).stdout.strip()

    dirty = git("status", "--porcelain", "--", "../src")
    return f"commit {git('rev-parse', '--short', 'HEAD')}" + (" with uncommitted changes in src/" if dirty else "")


# ---------------------------------------------------------------- main


METHOD = """\
**Time**: forward + backward, `torch.autograd.grad(loss, inputs)` on torch (so no `.grad` accumulation
is timed) and `jax.jit(jax.value_and_grad(loss))`, compiled ahead of time, on JAX; float32. After a
warm-up call and a first run, a run calls the step until 0.2 s have passed; the time is the median of
11 runs (`--quick`: 7 runs of 0.05 s). The implementations of a case are timed in one fresh process,
taking turns (one run of each per round, in an order that rotates from round to round), so that a
slow spell of the shared machine falls on all of them; torch's thread count is left at its default.
(On this virtual machine, the call that follows a large free or a JAX call sometimes pays for the
memory's return: hence the rotation and the medians.) Runs during
which other processes used more than 10% of the machine's CPU time (read from `/proc/stat`) are
dropped and repeated, for at most {busy} s per case ("disturbed" in the details: kept although
disturbed).

**Memory**: the peak resident set size (RSS) of one forward + backward call above the RSS just
before it, in MiB: in one fresh process per case (started with `MALLOC_MMAP_THRESHOLD_=65536`, so
that every allocation of 64 KiB or more is its own mapping, returned to the system when freed), each
implementation is run once (warm-up, JIT compilation), then the process collects garbage,
`malloc_trim`s, resets the kernel's high-water mark (`/proc/self/clear_refs`), reads its RSS, runs
one call and reads the peak, `VmHWM` of `/proc/self/status` (not `getrusage`'s `ru_maxrss`, which
keeps the resident set size of the parent process from before `exec`). This is the largest
live set of the call (gradient included; inputs excluded), without allocator fragmentation;
resolution about 0.25 MB. JAX numbers include XLA's buffers.

**Floor**: one fused element-wise torch pass that reads the gradient-sized float inputs and writes a
preallocated array of the gradient's size (`torch.neg(x, out=g)`, `torch.sub(a, b, out=g)` or
`torch.addcmul(a, b, c, out=g)`); label maps and index inputs are not read. No loss can be faster: it
must read its inputs and write that gradient. (A freshly allocated gradient would add the page faults
of a new buffer, which XLA's allocator avoids, so optax can beat a floor that allocates.)

**Correctness**: before timing, every peer's value must equal losskit's within rtol 1e-4 (float32),
and its gradient too (projection on a fixed random direction and norm within 1e-3); a peer that
disagrees is reported as a mismatch and not timed.

**Targets** (from the issue): native-kernel losses ours/native <= 1.05 time and <= 1.0 memory;
composite losses >= 2x faster than and <= 0.5x the memory of the best (fastest) peer;
batch_triplet(mining="all") >= 10x faster than pytorch-metric-learning; algebraic element-wise losses
within 2x of the floor. "speed-up" is best peer time / losskit time (checks on).

**JAX and NumPy tables** (`--only jax`, `--only numpy`; `benchmarks/_cases_jax_numpy.py`): one row per
loss and peer, on the inputs of the torch cases (same shapes, same draws; channels last with one-hot
targets for dice, optax's layout). JAX: losskit and optax, each under `jax.jit(jax.value_and_grad(...))`
compiled ahead of time, optax's per-example losses averaged as losskit's `"mean"`; value checks never
run under `jax.jit`. NumPy: the forward value of losskit, with value checks on and off, against
`sklearn.metrics` or the `scipy.special` formula. Each row is checked (values within rtol 1e-4, JAX
gradients as above), measured for memory and timed as the torch cases are. Targets (from the issue):
ours/optax <= {jax_target:.2f}, ours/peer <= {numpy_target:.2f} (checks on; "met with checks off" where only
`losskit.set_checks(False)` meets it)."""


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="divide every size by about 16 (smoke run)")
    parser.add_argument("--only", default="", help="comma-separated case or group names")
    parser.add_argument("--output", type=Path, default=None,
                        help="results file (default: benchmarks/results.md, none with --quick)")
    parser.add_argument("--profile", action="store_true",
                        help="print torch.profiler's top operators of losskit and the native (or first torch) peer "
                             "for the selected cases instead of benchmarking (JAX rows: XLA's cost analysis and "
                             "fusions; NumPy rows: cProfile)")
    parser.add_argument("--busy-limit", type=float, default=60.0,
                        help="seconds a timing may wait for other processes to leave the CPUs alone")
    return parser.parse_args(argv)


def select(only: str) -> tuple[list[Case], list[Pair]]:
    """The cases and the JAX / NumPy table rows named (or grouped) in ``only``; all of them without it."""
    cases, pairs = list(all_cases().values()), list(all_pairs().values())
    if not only:
        return cases, pairs
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    known = {x.name for x in [*cases, *pairs]} | {x.group for x in [*cases, *pairs]}
    if wanted - known:
        raise SystemExit(f"unknown case(s) {sorted(wanted - known)}; known: {sorted(known)}")
    return ([c for c in cases if c.name in wanted or c.group in wanted],
            [p for p in pairs if p.name in wanted or p.group in wanted])


def pair_notes(results: list[PairResult], table: str) -> list[str]:
    return [f"* {r.pair.name}: {r.pair.note}" for r in results if r.pair.table == table and r.pair.note]


def report(results: list[Result], pair_results: list[PairResult], info: dict[str, str], args: argparse.Namespace,
           seconds: float) -> str:
    machine_lines = "\n".join(f"* {k}: {v}" for k, v in info.items())
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    scale = "quick (sizes / 16)" if args.quick else "the issue's shapes"
    sections = ["# losskit benchmarks", f"Run of {when}, {scale}, total {seconds / 60:.1f} min "
                f"(`{' '.join(['python benchmarks/bench.py', *sys.argv[1:]])}`).", "## Machine", machine_lines]
    if results:
        sections += ["## Results", markdown_table(HEADER, [row(r) for r in results]),
                     *(["\n".join(notes(results))] if notes(results) else [])]
    for table, (header, rows) in pair_tables(pair_results).items():
        lines = pair_notes(pair_results, table)
        sections += [f"## {PAIR_TITLES[table]}", markdown_table(header, rows), *(["\n".join(lines)] if lines else [])]
    method = METHOD.format(busy=f"{args.busy_limit:.0f}", jax_target=JAX_TARGET, numpy_target=NUMPY_TARGET)
    sections += ["## How it is measured", method,
                 "## Every implementation", details([*results, *pair_results]), ""]
    return "\n\n".join(sections)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    cases, pairs = select(args.only)
    div = QUICK_DIV if args.quick else 1
    if args.profile:
        for name in [c.name for c in cases] + [p.name for p in pairs]:
            subprocess.run([sys.executable, str(HERE / "_profile.py"), name, *(["--quick"] if args.quick else [])],
                           check=False, cwd=HERE)
        return
    start = time.monotonic()
    info = machine()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), file=sys.stderr)
    results, pair_results = [], []
    total = len(cases) + len(pairs)
    for i, case in enumerate(cases, 1):
        print(f"[{i}/{total}] {case.name}", file=sys.stderr, flush=True)
        results.append(run_case(case, div, args.busy_limit, sys.stderr))
    for i, pair in enumerate(pairs, len(cases) + 1):
        print(f"[{i}/{total}] {pair.name}", file=sys.stderr, flush=True)
        pair_results.append(run_pair(pair, div, args.busy_limit, sys.stderr))
    seconds = time.monotonic() - start
    if results:
        print()
        print(text_table([row(r) for r in results]))
        for line in notes(results):
            print(line)
    for table, (header, rows) in pair_tables(pair_results).items():
        print(f"\n{PAIR_TITLES[table]}")
        print(text_table(rows, header, clip=1, numbers=range(4, 9)))
        for line in pair_notes(pair_results, table):
            print(line)
    print(f"\ntorch threads: {info['threads']}; total {seconds / 60:.1f} min")
    output = args.output or (None if args.quick else HERE / "results.md")
    if output is not None:
        output.write_text(report(results, pair_results, info, args, seconds))
        print(f"written to {output}")


if __name__ == "__main__":
    main()
