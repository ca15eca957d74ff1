"""Memory under hostile input: the API under a 500 MB body, a plate reader under a 12000x12000 JPEG.

    python -m bench.bench_limits api    # the API process's peak RSS, body limits on and off (the reference)
    python -m bench.bench_limits jpeg   # peak RSS of a process given the JPEG: the worker's check, the old imread

Each case runs in a process of its own and reports its peak resident memory (VmHWM). Prints JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BODY_BYTES = 500 * 1024 * 1024
CHUNK = 1024 * 1024
SIDE = 12000


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(port: int, limits: bool) -> None:
    """The app as deployed, or (the reference) without its body limit middleware."""
    import uvicorn

    from checkpoint.core.limits import BodyLimitMiddleware
    from checkpoint.main import create_app

    app = create_app()
    if not limits:
        app.user_middleware = [item for item in app.user_middleware
                               if getattr(item.cls, "__name__", "") != BodyLimitMiddleware.__name__]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def send_body(port: int, chunked: bool) -> tuple[str, int, float]:
    """POST 500 MB to the unauthenticated login route; (status line, bytes sent, seconds)."""
    started, sent = time.monotonic(), 0
    with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
        length = b"Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {BODY_BYTES}\r\n".encode()
        conn.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                     + length + b"\r\n")
        block = b"[" * CHUNK
        try:
            while sent < BODY_BYTES:
                conn.sendall(f"{CHUNK:x}\r\n".encode() + block + b"\r\n" if chunked else block)
                sent += CHUNK
            if chunked:
                conn.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: the rest was never read
        try:
            answer = conn.recv(4096).split(b"\r\n", 1)[0].decode()
        except OSError as exc:
            answer = f"no answer ({exc.__class__.__name__})"
    return answer, sent, time.monotonic() - started


def bench_api() -> None:
    for limits, chunked in ((True, False), (True, True), (False, False)):
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "bench.bench_limits", "serve", str(port)]
                                  + ([] if limits else ["--no-limits"]))
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            time.sleep(1.0)  # settled after start-up
            before, peak_before = rss_mb(server.pid), peak_rss_mb(server.pid)
            answer, sent, seconds = send_body(port, chunked)
            time.sleep(0.5)
            print(json.dumps({"case": "api-500MB-body", "limits": limits, "chunked": chunked, "answer": answer,
                              "sent_mb": round(sent / 2**20), "seconds": round(seconds, 2),
                              "rss_before_mb": round(before), "peak_before_mb": round(peak_before),
                              "peak_rss_mb": round(peak_rss_mb(server.pid))}),
                  flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)


def make_jpeg(path: Path) -> None:
    import cv2
    import numpy as np

    ramp = np.tile(np.linspace(0, 255, SIDE, dtype=np.uint8), (SIDE, 1))
    ok, buffer = cv2.imencode(".jpg", cv2.merge([ramp, ramp.T, ramp]), [cv2.IMWRITE_JPEG_QUALITY, 30])
    assert ok
    path.write_bytes(buffer.tobytes())


def read_jpeg(path: str, how: str) -> None:
    """One process given the JPEG: `worker` is the snapshot worker's load (header checked first), `imread`
    the old one (cv2.imread), `ingest` the push route's check. Prints its peak memory."""
    import cv2

    from checkpoint.lpr import ImageError
    from checkpoint.lpr.images import decode_image
    from checkpoint.passes.images import MAX_IMAGE_PIXELS, NotAJpeg, check_jpeg

    data = Path(path).read_bytes()
    before = peak_rss_mb(os.getpid())
    outcome = "decoded"
    try:
        if how == "worker":
            decode_image(data, name=path, max_pixels=MAX_IMAGE_PIXELS)
        elif how == "ingest":
            check_jpeg("the snapshot", data)
        else:
            outcome = "decoded" if cv2.imread(path, cv2.IMREAD_COLOR) is not None else "failed"
    except (ImageError, NotAJpeg) as exc:
        outcome = f"refused: {exc}"[:120]
    print(json.dumps({"case": "jpeg-12000x12000", "how": how, "file_mb": round(len(data) / 2**20, 2),
                      "outcome": outcome, "peak_before_mb": round(before),
                      "peak_rss_mb": round(peak_rss_mb(os.getpid()))}), flush=True)


def bench_jpeg() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "huge.jpg"
        make_jpeg(path)
        for how in ("worker", "ingest", "imread"):
            subprocess.run([sys.executable, "-m", "bench.bench_limits", "read", str(path), how], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("api")
    sub.add_parser("jpeg")
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("port", type=int)
    serve_parser.add_argument("--no-limits", action="store_true")
    read_parser = sub.add_parser("read")
    read_parser.add_argument("path")
    read_parser.add_argument("how", choices=("worker", "ingest", "imread"))
    args = parser.parse_args()
    if args.command == "api":
        bench_api()
    elif args.command == "jpeg":
        bench_jpeg()
    elif args.command == "serve":
        serve(args.port, not args.no_limits)
    else:
        read_jpeg(args.path, args.how)


if __name__ == "__main__":
    main()
