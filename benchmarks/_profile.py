"""Where the time of one case goes: ``python benchmarks/_profile.py CASE [--quick] [--impl KEY,...]``.

Runs forward + backward of losskit (``ours``) and the given implementations (``peer:<i>``, default
the case's native kernel or first peer) under ``torch.profiler`` (CPU, memory) and prints the
operators with the most self time.
"""

from __future__ import annotations

import argparse
from typing import Any

from _worker import Runner

from _cases import all_cases

CALLS = 5


def profile(case_name: str, div: int, keys: list[str], rows: int) -> None:
    import torch
    from torch.profiler import ProfilerActivity

    case = all_cases()[case_name]
    arrays = case.make(div)
    for key in keys:
        runner = Runner(case, arrays, key)
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
    keys = [k for k in args.impl.split(",") if k] or default_keys(args.case)
    profile(args.case, 16 if args.quick else 1, keys, args.rows)


if __name__ == "__main__":
    main()
