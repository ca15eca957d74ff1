"""What-if through the service on the benchmark database (Huizhou loaded), as the console calls it.

    python -m bench.bench_coverage_api [--repeat 20]

Prints one JSON line: median and p99 seconds of a what-if (the most critical checkpoint
offline plus one added checkpoint; model rebuilt from PostgreSQL rows each time, criticality on).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench.traffic_db import bench_engine
from checkpoint.core.db import Database
from checkpoint.coverage.schemas import AddedCheckpoint, WhatIf
from checkpoint.coverage.service import coverage_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    bench_engine()
    assert Database.sessions is not None
    with Database.sessions() as session:
        base = coverage_report(session)
        critical = max(base["criticality"], key=lambda c: c["new_leaks"])["code"]
        leak = base["leaks"]["features"][0]["properties"]
        change = WhatIf(offline=[critical], added=[AddedCheckpoint(lon=leak["crossing"][0], lat=leak["crossing"][1],
                                                                   guards=leak["area"])])
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            coverage_report(session, change)
            times.append(time.perf_counter() - started)
    times.sort()
    print(json.dumps({"what_if_median_s": round(statistics.median(times), 4),
                      "what_if_p99_s": round(times[min(len(times) - 1, int(0.99 * len(times)))], 4),
                      "what_if_max_s": round(times[-1], 4), "repeat": args.repeat}))


if __name__ == "__main__":
    main()
