"""Where the time of one case goes: ``python benchmarks/_profile.py CASE [--quick] [--impl KEY,...]``.

Runs forward + backward of losskit (``ours``) and the given implementations (``peer:<i>``, default
the case's native kernel or first peer) under ``torch.profiler`` (CPU, memory) and prints the
operators with the most self time.

A row of the JAX table (``jax_<loss>``): for losskit and optax, XLA's cost analysis of the compiled
``value_and_grad`` (bytes accessed, in passes over the gradient, transcendental operations, temporary
memory) and the fusions with the most time under ``jax.profiler``, each with its root operation. A
row of the NumPy table (``numpy_<loss>``): the functions with the most own time under ``cProfile``.
"""

from __future__ import annotations

import argparse
import cProfile
import glob
import gzip
import json
import pstats
import re
import tempfile
from collections import Counter
from typing import Any

from _cases_jax_numpy import JAX, Pair, all_pairs
from _worker import Runner

from _cases import all_cases

CALLS = 5


def profile(case_name: str, div: int, keys: list[str], rows: int) -> None:
    import torch
    from torch.profiler import ProfilerActivity

    case = all_cases()[case_name]
    arrays = case.make(div)
    for key in keys:
        runner = Runner.of(case, arrays, key)
        if runner.lib == "jax":
            print(f"== {case_name} {key}: JAX, not profiled by torch.profiler")
            continue
        runner.step()
        with torch.profiler.profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            for _ in range(CALLS):
                runner.step()
        averages: Any = prof.key_averages()
        total_ms = sum(e.self_cpu_time_total for e in averages) / 1e3 / CALLS
        name = "losskit" if key == "ours" else case.peers[int(key.split(":")[1])].name if ":" in key else key
        print(f"== {case_name}: {name}, {total_ms:.2f} ms of operator self time per call "
              f"(mean of {CALLS} calls, profiler overhead included)")
        print(averages.table(sort_by="self_cpu_time_total", row_limit=rows,
                             max_name_column_width=48))


def _fusion_roots(hlo: str) -> dict[str, str]:
    """The root operation of each fusion of a compiled module, by the fusion's name in the entry."""
    roots = {}
    for name, computation in re.findall(r"%([\w.-]+) = [^\n]*? fusion\([^\n]*?calls=%([\w.-]+)", hlo):
        body = re.search(rf"%{re.escape(computation)} [^\n]*\{{\n(.*?)\n\}}", hlo, re.S)
        root = re.search(r"ROOT %\S+ = (\S+) (\S+?)\(", body.group(1)) if body else None
        roots[name] = f"{root.group(2)} -> {root.group(1)}" if root else "?"
    return roots


def profile_jax(pair: Pair, arrays: Any, rows: int) -> None:
    import jax

    for key in ("ours", "peer"):
        runner = Runner.of_pair(pair, arrays, key)
        grad_bytes = sum(runner.g[n].nbytes for n in pair.grad)
        cost = runner.compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        memory = runner.compiled.memory_analysis()
        name = "losskit" if key == "ours" else pair.peer_name
        print(f"== {pair.name}: {name}: {cost.get('bytes accessed', 0) / grad_bytes:.1f} passes over the gradient "
              f"({cost.get('bytes accessed', 0) / 2**20:.0f} MB accessed), "
              f"{cost.get('transcendentals', 0) / 1e6:.2f} M transcendentals, "
              f"{memory.temp_size_in_bytes / 2**20:.1f} MB of temporaries")
        runner.step()
        with tempfile.TemporaryDirectory() as trace:
            jax.profiler.start_trace(trace, create_perfetto_trace=True)
            for _ in range(CALLS):
                runner.step()
            jax.profiler.stop_trace()
            with gzip.open(glob.glob(f"{trace}/**/*.json.gz", recursive=True)[0]) as file:
                events = json.load(file)["traceEvents"]
        roots = _fusion_roots(runner.compiled.as_text())
        spent = Counter[str]()
        for event in events:
            if event.get("ph") == "X" and event["name"] in roots:
                spent[event["name"]] += event.get("dur", 0)
        for fusion, us in spent.most_common(rows):
            print(f"  {us / CALLS / 1e3:8.3f} ms  {fusion:36s} {roots[fusion]}")


def profile_numpy(pair: Pair, arrays: Any, rows: int) -> None:
    for key in ("ours", "peer"):
        runner = Runner.of_pair(pair, arrays, key)
        runner.step()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(CALLS):
            runner.step()
        profiler.disable()
        print(f"== {pair.name}: {'losskit' if key == 'ours' else pair.peer_name} ({CALLS} calls)")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(rows)


def default_keys(case_name: str) -> list[str]:
    case = all_cases()[case_name]
    native = [i for i, p in enumerate(case.peers) if p.native]
    torch_peers = [i for i, p in enumerate(case.peers) if p.lib == "torch"]
    chosen = native or torch_peers[:1]
    return ["ours", *(f"peer:{i}" for i in chosen)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--impl", default="", help="comma-separated keys: ours, peer:0, ...")
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()
    div = 16 if args.quick else 1
    pair = all_pairs().get(args.case)
    if pair is not None:
        (profile_jax if pair.table == JAX else profile_numpy)(pair, pair.make(div), args.rows)
        return
    keys = [k for k in args.impl.split(",") if k] or default_keys(args.case)
    profile(args.case, div, keys, args.rows)


if __name__ == "__main__":
    main()
