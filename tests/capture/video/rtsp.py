"""A real RTSP server for tests: Debian's rtsp-server-perl, with FFmpeg publishing a file to it in a loop."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

SERVER = "rtsp-server-perl"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def require_tools() -> None:
    missing = [tool for tool in (SERVER, "ffmpeg") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (make browser installs rtsp-server-perl and ffmpeg)")


class RtspServer:
    """The server and one publisher; `stop()` and `start()` simulate a camera-side outage."""

    def __init__(self, video: Path, path: str = "lane1") -> None:
        self.video = video
        self.path = path
        self.client_port, self.source_port = free_port(), free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.publisher: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.client_port}/{self.path}"

    def start(self) -> None:
        self.server = subprocess.Popen(
            [SERVER, "--clientport", str(self.client_port), "--serverport", str(self.source_port),
             "--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1",
             "--rtp_start_port", str(20000 + self.client_port % 20000)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.source_port, self.server)
        self.publisher = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(self.video),
             "-c", "copy", "-f", "rtsp", f"rtsp://127.0.0.1:{self.source_port}/{self.path}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        for process in (self.publisher, self.server):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        self.publisher = self.server = None


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Block until the port accepts connections (a connect attempt, not a sleep)."""
    from tests.waiting import wait_until

    def accepting() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{SERVER} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_until(accepting, timeout_s=timeout_s, what=f"{SERVER} listening on {port}")
