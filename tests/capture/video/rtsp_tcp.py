"""A small RTSP server for tests that serves over TCP only (RTP interleaved in the RTSP connection).

rtsp-server-perl, the server of tests/capture/video/rtsp.py, relays to its clients over UDP only,
while cameras are read over TCP by default (FeedConfig.rtsp_transport). Here FFmpeg sends RTP of a
looping file to a local UDP port and writes its SDP; this server answers OPTIONS, DESCRIBE, SETUP
(TCP interleaved; a UDP SETUP gets 461 Unsupported Transport), PLAY and TEARDOWN, and copies each RTP
packet into every playing connection as `$ <channel> <length> <packet>` (RFC 2326, 10.12).
`stop()` kills FFmpeg and closes the port and every connection: a camera-side outage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.capture.video.rtsp import free_port
from tests.waiting import wait_until


def require_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed (make browser installs it)")


class TcpRtspServer:
    """One stream at rtsp://127.0.0.1:<port>/<path>, sent over TCP interleaved only."""

    def __init__(self, video: Path, workdir: Path, path: str = "lane1") -> None:
        self.video, self.workdir, self.path = video, workdir, path
        self.port = free_port()
        self.sdp_path = workdir / "stream.sdp"
        self.playing: list[socket.socket] = []
        self.interleaved_packets = 0  # RTP packets sent inside RTSP connections, all starts together
        self.playing_starts = 0  # PLAY requests answered, all starts together
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._rtp_in: socket.socket | None = None
        self._rtcp_in: socket.socket | None = None  # FFmpeg's RTCP reports land here and are never read
        self._ffmpeg: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{self.path}"

    def start(self) -> None:
        self._rtp_in, self._rtcp_in = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
        self._rtp_in.bind(("127.0.0.1", 0))
        self._rtcp_in.bind(("127.0.0.1", 0))
        rtp_port, rtcp_port = self._rtp_in.getsockname()[1], self._rtcp_in.getsockname()[1]
        self.sdp_path.unlink(missing_ok=True)
        self._ffmpeg = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(self.video),
             "-an", "-c", "copy", "-f", "rtp", "-sdp_file", str(self.sdp_path),
             f"rtp://127.0.0.1:{rtp_port}?rtcpport={rtcp_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.sdp_path.exists() and "m=video" in self.sdp_path.read_text(), timeout_s=10,
                   what="FFmpeg's SDP")
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen()
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        threading.Thread(target=self._relay, args=(self._rtp_in,), daemon=True).start()

    def stop(self) -> None:
        if self._ffmpeg is not None and self._ffmpeg.poll() is None:
            self._ffmpeg.kill()
            self._ffmpeg.wait(timeout=10)
        with self._lock:
            connections, self.playing = self.playing, []
        for sock in [self._listener, self._rtp_in, self._rtcp_in, *connections]:
            if sock is not None:
                _close(sock)
        self._ffmpeg = self._listener = self._rtp_in = self._rtcp_in = None

    def _sdp(self) -> str:
        """FFmpeg's SDP for a client: no address or port of ours, a control URL for the one track."""
        lines = []
        for line in self.sdp_path.read_text().splitlines():
            if line.startswith("m=video"):
                parts = line.split()
                lines += [" ".join([parts[0], "0", *parts[2:]]), "a=control:trackID=0"]
            elif line.startswith("c="):
                lines.append("c=IN IP4 0.0.0.0")
            else:
                lines.append(line)
        return "\r\n".join(lines) + "\r\n"

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return  # stopped
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        """Answer one client's requests until it goes away or the server stops."""
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                headers = {name.strip().lower(): value.strip()
                           for name, _, value in (line.partition(":") for line in header_lines)}
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    buffer += conn.recv(4096)
                buffer = buffer[length:]
                self._answer(conn, request_line.split()[0], headers)
        except OSError:
            return
        finally:
            with self._lock:
                if conn in self.playing:
                    self.playing.remove(conn)
            _close(conn)

    def _answer(self, conn: socket.socket, method: str, headers: dict[str, str]) -> None:
        extra: dict[str, str] = {}
        body = ""
        status = "200 OK"
        if method == "OPTIONS":
            extra["Public"] = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
        elif method == "DESCRIBE":
            body = self._sdp()
            extra.update({"Content-Base": f"{self.url}/", "Content-Type": "application/sdp"})
        elif method == "SETUP":
            if "/TCP" not in headers.get("transport", "").upper():
                status = "461 Unsupported Transport"
            else:
                extra.update({"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1", "Session": "4242"})
        elif method == "PLAY":
            extra["Session"] = "4242"
        elif method not in ("TEARDOWN", "GET_PARAMETER"):
            status = "405 Method Not Allowed"
        lines = [f"RTSP/1.0 {status}", f"CSeq: {headers.get('cseq', '0')}",
                 *(f"{name}: {value}" for name, value in extra.items()), f"Content-Length: {len(body)}"]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n" + body).encode("latin-1"))
        if method == "PLAY" and status.startswith("200"):
            with self._lock:
                self.playing.append(conn)
                self.playing_starts += 1

    def _relay(self, rtp_in: socket.socket) -> None:
        """FFmpeg's RTP packets, each into every playing connection on channel 0."""
        while True:
            try:
                packet = rtp_in.recv(65536)
            except OSError:
                return  # stopped
            frame = b"$\x00" + len(packet).to_bytes(2, "big") + packet
            with self._lock:
                playing = list(self.playing)
            for conn in playing:
                try:
                    conn.sendall(frame)
                    self.interleaved_packets += 1
                except OSError:
                    with self._lock:
                        if conn in self.playing:
                            self.playing.remove(conn)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
