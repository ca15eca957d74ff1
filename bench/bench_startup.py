"""Start-up time of the embedded default: first start (initdb, migrations, geodata) and a restart.

    python -m bench.bench_startup --runs 3

Prints one JSON line: seconds from process start to `/api/v1/health` answering 200, per run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHECKPOINT = Path(sys.executable).with_name("checkpoint")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def timed_start(data_dir: Path) -> float:
    """Seconds until the health route answers 200; the server is then stopped with SIGINT."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINT_")}
    env.update(CHECKPOINT_DATA_DIR=str(data_dir), CHECKPOINT_PORT=str(port))
    started = time.monotonic()
    process = subprocess.Popen([str(CHECKPOINT), "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while not healthy(port):
            if process.poll() is not None or time.monotonic() - started > 120:
                raise SystemExit(f"checkpoint serve did not come up (exit {process.returncode})")
            time.sleep(0.05)
        return time.monotonic() - started
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="restarts to time after the first start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="checkpoint-bench-") as folder:
        data_dir = Path(folder) / "var"
        first = timed_start(data_dir)
        restarts = [timed_start(data_dir) for _ in range(args.runs)]
    print(json.dumps({"first_start_s": round(first, 2), "restart_s": [round(s, 2) for s in restarts],
                      "restart_median_s": round(statistics.median(restarts), 2), "target_restart_s": 10}))


if __name__ == "__main__":
    main()
