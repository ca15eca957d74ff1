"""The coverage report as one self-contained HTML file with the map drawn in SVG, for a planner to hand on."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from typing import Any

from shapely.geometry.base import BaseGeometry

from checkpoint.coverage.build import CoverageModel

WIDTH_PX = 960


class SvgMap:
    """Equirectangular projection of the areas' bounds onto a WIDTH_PX-wide picture."""

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        west, south, east, north = bounds
        self.west, self.north = west, north
        self.kx = math.cos(math.radians((south + north) / 2))
        self.scale = WIDTH_PX / max(1e-9, (east - west) * self.kx)
        self.height = int((north - south) * self.scale) + 1

    def xy(self, lon: float, lat: float) -> str:
        return f"{(lon - self.west) * self.kx * self.scale:.1f},{(self.north - lat) * self.scale:.1f}"

    def line(self, coords: Iterable[tuple[float, float]] | Iterable[list[float]], style: str) -> str:
        points = " ".join(self.xy(c[0], c[1]) for c in coords)
        return f'<polyline points="{points}" {style}/>'

    def polygon(self, geometry: BaseGeometry, style: str) -> str:
        parts = getattr(geometry, "geoms", [geometry])
        rings = [ring for part in parts for ring in (part.exterior, *part.interiors)]
        return "".join(f'<polygon points="{" ".join(self.xy(x, y) for x, y in ring.coords)}" {style}/>'
                       for ring in rings)

    def dot(self, lon: float, lat: float, radius: float, style: str, title: str) -> str:
        x, y = self.xy(lon, lat).split(",")
        return f'<circle cx="{x}" cy="{y}" r="{radius}" {style}><title>{escape(title)}</title></circle>'


def map_svg(model: CoverageModel, report: dict[str, Any]) -> str:
    bounds = [s.geometry.bounds for s in model.shapes.values()]
    frame = SvgMap((min(b[0] for b in bounds), min(b[1] for b in bounds), max(b[2] for b in bounds),
                    max(b[3] for b in bounds)))
    parts = [frame.polygon(s.geometry, 'fill="#f5c26b" fill-opacity="0.2" stroke="#c77c02" stroke-width="1.5"'
                           if s.kind == "centre" else 'fill="none" stroke="#0b3d91" stroke-width="2"')
             for s in model.shapes.values()]
    parts += [frame.line(e.coords, 'fill="none" stroke="#999" stroke-width="0.6"') for e in model.roads.edges.values()]
    for leak in report["leaks"]["features"]:
        parts.append(frame.line(leak["geometry"]["coordinates"], 'fill="none" stroke="#d00000" stroke-width="3"'))
    for cp in report["ring"]:
        colour = "#777" if cp["offline"] else "#1d7dd8"
        parts.append(frame.dot(cp["lon"], cp["lat"], 3.5, f'fill="{colour}" stroke="#fff"', cp["code"]))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_PX}" height="{frame.height}" '
            f'viewBox="0 0 {WIDTH_PX} {frame.height}" style="background:#f4f1ea">{"".join(parts)}</svg>')


def _table(headers: list[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape('-' if v is None else str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(model: CoverageModel, report: dict[str, Any], changes: str, site: str = "Huizhou") -> str:
    """The whole report: verdict, map, per-area table, every leak route and the critical checkpoints."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    verdict = "holds" if report["holds"] else "does NOT hold"
    leaks = [(f["properties"]["area"], f["properties"]["direction"], f["properties"]["edge_id"],
              f["properties"]["captures"], ", ".join(f["properties"]["checkpoints"]) or "none",
              "{:.6f}, {:.6f}".format(*f["properties"]["crossing"]), "yes" if f["properties"]["passing"] else "")
             for f in report["leaks"]["features"]]
    critical = sorted((c for c in report["criticality"] if c["new_leaks"] > 0),
                      key=lambda c: (-c["new_leaks"], c["code"]))
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>Coverage report 覆盖校验报告 {escape(site)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:24px;color:#1d2430}}
table{{border-collapse:collapse;margin:8px 0 20px}} td,th{{border:1px solid #d5dbe5;padding:3px 8px;text-align:left}}
th{{background:#eef1f5}} .bad{{color:#d00000}}</style>
</head><body>
<h1>覆盖校验报告 Coverage report: {escape(site)}</h1>
<p>Made {made}. Rule: every vehicle entering or leaving the city or a centre area is captured by at least
two checkpoints of that area's ring. The rule <b class="{'' if report['holds'] else 'bad'}">{verdict}</b>;
{len(leaks)} leak routes (red on the map). Placement analysed: {escape(changes)}.</p>
<p>A route is counted from the last junction outside to the first junction inside (or back): a vehicle may
stop at any junction, so a checkpoint further in does not count for the crossing it does not stand on.</p>
{map_svg(model, report)}
<h2>Areas 区域</h2>
{_table(["area", "name", "least captures in", "least captures out", "crossing routes", "leak routes", "holds"],
        [(a["code"], a["name"], a["min_captures_in"], a["min_captures_out"], a["crossings"], a["leak_routes"],
          "yes" if a["holds"] else "NO") for a in report["areas"]])}
<h2>Leak routes 漏洞路线</h2>
{_table(["area", "direction", "road edge", "captures", "checkpoints on it", "boundary crossing (lon, lat)",
         "passes through"], leaks)}
<h2>Critical checkpoints 关键卡口</h2>
{_table(["checkpoint", "area", "new leak routes if offline", "least in after", "least out after"],
        [(c["code"], c["area"], c["new_leaks"], c["min_captures_in_after"], c["min_captures_out_after"])
         for c in critical])}
</body></html>"""
