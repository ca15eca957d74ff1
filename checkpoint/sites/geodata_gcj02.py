"""GCJ-02 ("Mars coordinates") to WGS-84, for boundaries published in China's obfuscated datum.

The forward GCJ-02 transform is the public polynomial-plus-sine formula on the Krasovsky
ellipsoid; its inverse has no closed form, so `gcj02_to_wgs84` solves it by fixed-point
iteration to < 1e-9 degree (well under a millimetre).
"""

from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # its first eccentricity squared


def _shift_lat(x: float, y: float) -> float:
    s = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    s += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    s += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    s += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return s


def _shift_lon(x: float, y: float) -> float:
    s = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    s += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    s += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    s += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return s


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The forward obfuscation: where a WGS-84 point appears on a GCJ-02 map."""
    d_lat = _shift_lat(lon - 105.0, lat - 35.0)
    d_lon = _shift_lon(lon - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float, tolerance_deg: float = 1e-9) -> tuple[float, float]:
    """Invert `wgs84_to_gcj02` by fixed-point iteration (converges in a few steps)."""
    w_lon, w_lat = lon, lat
    for _ in range(30):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        d_lon, d_lat = g_lon - lon, g_lat - lat
        w_lon, w_lat = w_lon - d_lon, w_lat - d_lat
        if abs(d_lon) < tolerance_deg and abs(d_lat) < tolerance_deg:
            break
    return w_lon, w_lat
