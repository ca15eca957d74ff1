// The planner's coverage page: areas, rings and leak routes in red; what-if (offline, add, move) re-runs the check.
import { api, el } from "../api.js";

const AREA_STYLE = {
  city: { color: "#0b3d91", weight: 3, fill: false },
  centre: { color: "#c77c02", weight: 2, fillColor: "#f5c26b", fillOpacity: 0.18 },
};
const LEAK_STYLE = { color: "#d00000", weight: 5, opacity: 0.9, className: "leak-route" };
const DIRECTION = { in: "入 in", out: "出 out" };
const SMALL = "font-size:12px";

export async function render(root) {
  const mapDiv = el("div", { id: "map" });
  const side = el("aside", { id: "side", style: "width:380px" });
  root.append(el("div", { class: "map-layout" }, mapDiv, side));
  const map = L.map(mapDiv).setView([23.1, 114.4], 9);
  mapDiv.classList.add("no-tiles");

  const [areas, roads] = await Promise.all([api("/areas"), api("/roads")]);
  const protectedAreas = areas.features.filter((f) => AREA_STYLE[f.properties.kind]);
  const areaLayer = L.geoJSON({ type: "FeatureCollection", features: protectedAreas }, {
    style: (f) => AREA_STYLE[f.properties.kind],
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name),
  }).addTo(map);
  L.geoJSON(roads, { style: () => ({ color: "#8a8a8a", weight: 1, opacity: 0.7, className: "road-edge" }) }).addTo(map);
  map.fitBounds(areaLayer.getBounds(), { padding: [10, 10] });
  const leakLayer = L.layerGroup().addTo(map);
  const ringLayer = L.layerGroup().addTo(map);
  const addedLayer = L.layerGroup().addTo(map);

  const change = { offline: [], added: [], moved: [], core_depth_m: 0 };
  let placing = null; // "add" or a checkpoint code being moved
  const status = el("p", { id: "coverage-status", style: SMALL });
  const summary = el("div", { id: "coverage-summary" });
  const critical = el("div", { id: "coverage-critical" });
  const changes = el("div", { id: "coverage-changes", style: SMALL });
  const guards = el("select", { id: "add-guards" },
    protectedAreas.map((f) => el("option", { value: f.properties.code }, f.properties.name)));
  const hint = el("p", { style: SMALL });

  async function refresh() {
    status.textContent = "计算中 computing…";
    const started = performance.now();
    let report;
    try {
      report = await api("/coverage/what-if", { json: change });
    } catch (err) {
      status.textContent = `错误 ${err.message}`;
      status.className = "error";
      return;
    }
    status.className = "";
    const roundTrip = ((performance.now() - started) / 1000).toFixed(2);
    status.textContent = `${report.holds ? "满足 holds" : "不满足 does not hold"}: ` +
      `${report.leaks.features.length} 条漏洞路线 leak routes · server ${report.seconds.toFixed(2)} s, round trip ${roundTrip} s`;
    status.dataset.leaks = String(report.leaks.features.length);
    drawLeaks(report);
    drawRing(report);
    drawSummary(report);
    drawCritical(report);
    drawChanges();
  }

  function drawLeaks(report) {
    leakLayer.clearLayers();
    for (const f of report.leaks.features) {
      const p = f.properties;
      const text = `${p.area} ${DIRECTION[p.direction]}: ${p.captures} 次抓拍 captures · 道路 edge ${p.edge_id}` +
        (p.checkpoints.length ? ` · ${p.checkpoints.join(", ")}` : "") + (p.passing ? " · 穿越 passes through" : "");
      L.geoJSON(f, { style: () => LEAK_STYLE }).bindTooltip(text).addTo(leakLayer);
      L.circleMarker([p.crossing[1], p.crossing[0]], { radius: 4, color: "#d00000", fillOpacity: 1,
        className: "leak-crossing" }).bindTooltip(text).addTo(leakLayer);
    }
  }

  function drawRing(report) {
    ringLayer.clearLayers();
    for (const cp of report.ring) {
      const marker = L.circleMarker([cp.lat, cp.lon], {
        radius: 6, weight: 2, color: "#fff", fillColor: cp.offline ? "#777" : "#1d7dd8",
        fillOpacity: cp.offline ? 0.5 : 0.95, className: `ring-checkpoint${cp.offline ? " offline" : ""}`,
      });
      marker.bindTooltip(`${cp.code} → ${cp.area}${cp.offline ? " (离线 offline)" : ""}`);
      marker.bindPopup(() => checkpointActions(cp));
      marker.addTo(ringLayer);
    }
  }

  function checkpointActions(cp) {
    const down = change.offline.includes(cp.code);
    return el("div", { class: "popup" }, el("h3", {}, cp.code), el("p", {}, `守卫 guards ${cp.area} · edge ${cp.edge_id}`),
      el("button", { class: "toggle-offline", onclick: () => { map.closePopup(); toggleOffline(cp.code); } },
        down ? "恢复 Bring online" : "停用 Take offline"), " ",
      el("button", { onclick: () => { map.closePopup(); placing = cp.code; hint.textContent = `点击地图移动 ${cp.code} Click the map to move it`; } },
        "移动 Move"));
  }

  function toggleOffline(code) {
    const at = change.offline.indexOf(code);
    if (at >= 0) change.offline.splice(at, 1); else change.offline.push(code);
    refresh();
  }

  map.on("click", (e) => {
    if (!placing) return;
    const point = { lon: Number(e.latlng.lng.toFixed(6)), lat: Number(e.latlng.lat.toFixed(6)) };
    if (placing === "add") change.added.push({ ...point, guards: guards.value });
    else change.moved = [...change.moved.filter((m) => m.code !== placing), { code: placing, ...point }];
    placing = null;
    hint.textContent = "";
    refresh();
  });

  function drawSummary(report) {
    const row = (a) => el("tr", { class: a.holds ? "" : "fails" },
      el("td", {}, a.name), el("td", {}, a.min_captures_in ?? "-"), el("td", {}, a.min_captures_out ?? "-"),
      el("td", {}, a.leak_routes), el("td", { style: `color:${a.holds ? "#1b7a3a" : "#d00000"}` }, a.holds ? "✓" : "✗"));
    summary.replaceChildren(el("table", { class: "grid", id: "coverage-areas", style: SMALL },
      el("tr", {}, el("th", {}, "区域 Area"), el("th", {}, "入 in"), el("th", {}, "出 out"), el("th", {}, "漏洞 leaks"), el("th", {}, "")),
      report.areas.map(row)));
  }

  function drawCritical(report) {
    const top = [...report.criticality].filter((c) => c.new_leaks > 0)
      .sort((a, b) => b.new_leaks - a.new_leaks || a.code.localeCompare(b.code)).slice(0, 12);
    critical.replaceChildren(el("h4", {}, "关键卡口 Critical checkpoints (new leaks if offline)"),
      el("table", { class: "grid", style: SMALL }, top.map((c) => el("tr", {},
        el("td", {}, c.code), el("td", {}, `+${c.new_leaks}`),
        el("td", {}, el("button", { class: "take-offline", "data-code": c.code, onclick: () => toggleOffline(c.code) },
          "停用 offline"))))));
  }

  function drawChanges() {
    addedLayer.clearLayers();
    for (const a of change.added) {
      L.circleMarker([a.lat, a.lon], { radius: 7, color: "#1b7a3a", fillColor: "#4caf50", fillOpacity: 0.9,
        className: "added-checkpoint" }).bindTooltip(`新增 new → ${a.guards}`).addTo(addedLayer);
    }
    const parts = [
      change.offline.length ? `离线 offline: ${change.offline.join(", ")}` : null,
      change.added.length ? `新增 added: ${change.added.length}` : null,
      change.moved.length ? `移动 moved: ${change.moved.map((m) => m.code).join(", ")}` : null,
    ].filter(Boolean);
    changes.textContent = parts.length ? parts.join(" · ") : "未修改 no changes (stored placement)";
  }

  const addButton = el("button", { id: "add-checkpoint", onclick: () => { placing = "add"; hint.textContent = "点击道路放置 Click a road to place it"; } },
    "新增卡口 Add");
  const reset = el("button", { id: "reset-what-if", onclick: () => { change.offline = []; change.added = []; change.moved = []; refresh(); } },
    "重置 Reset");
  const depth = el("input", { type: "number", id: "core-depth", min: "0", step: "250", value: "0", style: "width:90px",
    title: "核心深度 m: routes must reach junctions this deep inside (0: any junction inside)",
    onchange: (e) => { change.core_depth_m = Math.max(0, Number(e.target.value) || 0); refresh(); } });
  const exportLink = el("a", { href: "#", id: "export-report", onclick: (e) => { e.preventDefault(); exportReport(); } },
    "导出报告 Export report (HTML)");
  async function exportReport() {
    const response = await fetch("/api/v1/coverage/export", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(change) });
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "coverage-report.html" });
    document.body.append(link);
    link.click();
    link.remove();
  }
  const proposedLayer = L.layerGroup().addTo(map);
  const placement = el("p", { id: "coverage-placement", style: SMALL });
  const propose = el("button", { id: "propose-placement", onclick: async () => {
    placement.textContent = "计算中 computing…";
    const plan = await api("/coverage/placement", { json: change });
    proposedLayer.clearLayers();
    for (const f of plan.positions.features) {
      const [lon, lat] = f.geometry.coordinates;
      L.circleMarker([lat, lon], { radius: 5, color: "#1b7a3a", fillColor: "#8bd48f", fillOpacity: 1,
        className: "proposed-checkpoint" }).bindTooltip(`建议 proposed → ${f.properties.area} (edge ${f.properties.edge_id})`)
        .addTo(proposedLayer);
    }
    placement.textContent = `建议新增 ${plan.new_checkpoints} 个卡口 new checkpoints (lower bound ${plan.lower_bound}, ` +
      `gap ${plan.gap}; ${plan.holds_after ? "then holds" : "still short"}). Method: ${plan.method}.`;
  } }, "建议布点 Propose placement");
  const live = el("div", { id: "coverage-live", style: SMALL });
  async function drawLive() {
    const shares = await api("/coverage/live");
    const rows = shares.areas.filter((a) => a.crossings > 0);
    const weakest = shares.checkpoints.filter((c) => c.crossings > 0)
      .sort((a, b) => a.share - b.share || b.crossings - a.crossings).slice(0, 8);
    const verdicts = Object.entries(shares.verdicts).map(([k, v]) => `${k}: ${v}`).join(" · ");
    live.replaceChildren(el("h4", {}, "实时校验 Live (pass stream)"),
      rows.length ? el("table", { class: "grid" },
        el("tr", {}, el("th", {}, "区域 Area"), el("th", {}, "穿越 crossings"), el("th", {}, "≥2 share")),
        rows.map((a) => el("tr", {}, el("td", {}, a.code), el("td", {}, a.crossings),
          el("td", {}, `${(100 * a.share).toFixed(1)} %`))))
        : el("p", {}, "尚无数据 no crossings seen yet (run `checkpoint coverage verify`)"),
      verdicts ? el("p", {}, `单次抓拍原因 single captures: ${verdicts}`) : null,
      weakest.length ? el("p", {}, "最低卡口 weakest checkpoints: " +
        weakest.map((c) => `${c.code} ${(100 * c.share).toFixed(0)} % of ${c.crossings}`).join(" · ")) : null);
  }
  side.append(el("h2", {}, "覆盖校验 Coverage (≥ 2 captures)"), status, summary,
    el("h4", {}, "假设分析 What-if"), el("div", { class: "inline-form" }, guards, addButton, reset), hint, changes,
    el("div", { class: "inline-form" }, el("label", { style: SMALL }, "核心深度 core depth (m) ", depth)),
    el("div", { class: "inline-form" }, propose, exportLink), placement, critical, live);
  await refresh();
  drawLive().catch(() => { live.textContent = ""; });
}
