"""HTTP Digest authentication, server side (RFC 7616), as GA/T 1400 devices speak it: MD5, qop=auth.

Field cameras and 视图库 platforms only do MD5 (and some the RFC 2069 form without qop), so that is
what is verified; the stored secret is HA1 = MD5(username:realm:password), never the password.
Nonces are stateless: a timestamp signed with a server key, so any API process can check one a
sibling issued; a nonce past its lifetime is answered `stale=true` and the device retries without
asking its user. Replays of one (nonce, nc) within a process are refused.
Used by capture/viid for devices, and reusable by a cascade to a higher platform (client side:
`authorization_header`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?')
SUPPORTED_ALGORITHMS = ("MD5",)


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def ha1(username: str, realm: str, password: str) -> str:
    """What is stored for a device: MD5(username:realm:password) (RFC 7616 section 3.4.2)."""
    return md5_hex(f"{username}:{realm}:{password}")


def parse_params(header: str) -> dict[str, str]:
    """The name=value pairs of a Digest challenge or credentials (quoted or token values), names lower-cased."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(header):
        quoted, token = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token
        params[match.group(1).lower()] = value
    return params


def expected_response(ha1_hex: str, method: str, uri: str, params: dict[str, str]) -> str:
    """request-digest of RFC 7616 section 3.4.1 (qop=auth), or RFC 2069's when the client sent no qop."""
    ha2 = md5_hex(f"{method}:{uri}")
    nonce = params.get("nonce", "")
    if params.get("algorithm", "MD5").upper() == "MD5-SESS":
        ha1_hex = md5_hex(f"{ha1_hex}:{nonce}:{params.get('cnonce', '')}")
    if "qop" in params:
        return md5_hex(f"{ha1_hex}:{nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:{params['qop']}:{ha2}")
    return md5_hex(f"{ha1_hex}:{nonce}:{ha2}")


def authorization_header(username: str, password: str, method: str, uri: str, challenge: str,
                         nc: int = 1, cnonce: str | None = None) -> str:
    """A client's answer to a `WWW-Authenticate: Digest ...` challenge (for tests, simulators, cascades)."""
    params = parse_params(challenge.split(" ", 1)[1] if challenge.lower().startswith("digest") else challenge)
    realm, nonce = params["realm"], params["nonce"]
    answer = {"username": username, "realm": realm, "nonce": nonce, "uri": uri, "algorithm": "MD5"}
    if "auth" in [q.strip() for q in params.get("qop", "").split(",")]:
        answer |= {"qop": "auth", "nc": f"{nc:08x}", "cnonce": cnonce or secrets.token_hex(8)}
    answer["response"] = expected_response(ha1(username, realm, password), method, uri, answer)
    if "opaque" in params:
        answer["opaque"] = params["opaque"]
    unquoted = {"algorithm", "qop", "nc"}
    return "Digest " + ", ".join(f"{k}={v}" if k in unquoted else f'{k}="{v}"' for k, v in answer.items())


@dataclass(frozen=True)
class DigestCheck:
    """The outcome of checking credentials: the username they claim, and why they fail (None: they hold)."""

    username: str
    failure: str | None = None
    stale: bool = False


class DigestVerifier:
    """Issues challenges and checks answers for one realm; thread-safe, one per process."""

    def __init__(self, realm: str, key: bytes, nonce_ttl_s: float = 300.0) -> None:
        self.realm = realm
        self.key = key
        self.nonce_ttl_s = nonce_ttl_s
        self.opaque = hashlib.sha256(key + b"opaque").hexdigest()[:32]
        self._seen: dict[tuple[str, str], float] = {}  # (nonce, nc) -> when, to refuse replays
        self._lock = threading.Lock()

    def new_nonce(self, now: float | None = None) -> str:
        stamp = f"{int(now if now is not None else time.time())}:{secrets.token_hex(6)}"
        mac = hmac.new(self.key, stamp.encode(), hashlib.sha256).hexdigest()[:24]
        return base64.b64encode(f"{stamp}:{mac}".encode()).decode()

    def challenge(self, stale: bool = False) -> str:
        """The WWW-Authenticate value of a 401."""
        header = (f'Digest realm="{self.realm}", qop="auth", nonce="{self.new_nonce()}", '
                  f'opaque="{self.opaque}", algorithm=MD5')
        return header + (", stale=true" if stale else "")

    def _nonce_age(self, nonce: str, now: float) -> float | None:
        """Seconds since this server issued the nonce; None for one it did not issue."""
        try:
            stamp, salt, mac = base64.b64decode(nonce, validate=True).decode().split(":")
        except (ValueError, UnicodeDecodeError):
            return None
        good = hmac.new(self.key, f"{stamp}:{salt}".encode(), hashlib.sha256).hexdigest()[:24]
        if not hmac.compare_digest(good, mac) or not stamp.isdigit():
            return None
        return now - int(stamp)

    def check(self, authorization: str | None, method: str, ha1_for: Callable[[str], str | None]) -> DigestCheck:
        """Check an Authorization header against the stored HA1 of the username it claims (`ha1_for`)."""
        if not authorization or not authorization.lower().startswith("digest "):
            return DigestCheck("", "no Digest credentials")
        params = parse_params(authorization[7:])
        username = params.get("username", "")
        missing = [name for name in ("username", "realm", "nonce", "uri", "response") if not params.get(name)]
        if missing:
            return DigestCheck(username, f"Digest credentials lack {', '.join(missing)}")
        if params["realm"] != self.realm:
            return DigestCheck(username, f"realm {params['realm']!r} is not {self.realm!r}")
        if params.get("algorithm", "MD5").upper() not in ("MD5", "MD5-SESS"):
            return DigestCheck(username, f"algorithm {params['algorithm']} is not supported (MD5)")
        if "qop" in params and (params["qop"] != "auth" or not params.get("nc") or not params.get("cnonce")):
            return DigestCheck(username, "qop must be auth, with nc and cnonce")
        now = time.time()
        age = self._nonce_age(params["nonce"], now)
        if age is None:
            return DigestCheck(username, "the nonce was not issued by this server")
        expected_ha1 = ha1_for(username)
        if expected_ha1 is None:
            return DigestCheck(username, f"unknown username {username!r}")
        good = expected_response(expected_ha1, method, params["uri"], params)
        if not hmac.compare_digest(good, params["response"].lower()):
            return DigestCheck(username, "wrong password (the digest response does not match)")
        if age > self.nonce_ttl_s:
            return DigestCheck(username, "the nonce has expired", stale=True)
        if "qop" in params and not self._first_use(params["nonce"], params["nc"], now):
            return DigestCheck(username, "this nonce count was already used (a replay)")
        return DigestCheck(username)

    def _first_use(self, nonce: str, nc: str, now: float) -> bool:
        with self._lock:
            if len(self._seen) > 100_000:  # forget those whose nonce has expired anyway
                self._seen = {k: at for k, at in self._seen.items() if now - at <= self.nonce_ttl_s}
            if (nonce, nc) in self._seen:
                return False
            self._seen[(nonce, nc)] = now
            return True
