// The planner's coverage page: the rule under a stated reading (selector at the top), its leak routes in red,
// named by roads and places; what-if (offline, add, move) re-runs it; the optimum for the quotas is drawn as
// kept / moved / added / removed checkpoints.
import { api, el } from "../api.js";

const AREA_STYLE = {
  city: { color: "#0b3d91", weight: 3, fill: false },
  centre: { color: "#c77c02", weight: 2, fillColor: "#f5c26b", fillOpacity: 0.18 },
};
const LEAK_STYLE = { color: "#d00000", weight: 5, opacity: 0.9, className: "leak-route" };
const DIRECTION = { in: "入 in", out: "出 out" };
const SMALL = "font-size:12px";
const READING_CHOICES = {
  areas: [["centres", "市中心区+七个县区中心区 centres"], ["city", "另加整个市域 + whole city"]],
  counting: [["jurisdiction", "所进入市/县区的卡口 jurisdiction"], ["any", "任何卡口 any"], ["ring", "仅本区域环 ring only"]],
  origins: [["two_lines", "两道防线 two lines"], ["strict", "严格 strict"]],
  min_road_class: [["motorway", "高速 motorway"], ["trunk", "国道 trunk"], ["primary", "主干 primary"],
    ["secondary", "次干 secondary"], ["tertiary", "支路 tertiary"], ["residential", "街巷 residential"],
    ["service", "辅路 service"]],
};

export async function render(root) {
  const mapDiv = el("div", { id: "map" });
  const side = el("aside", { id: "side", style: "width:380px" });
  root.append(el("div", { class: "map-layout" }, mapDiv, side));
  const map = L.map(mapDiv).setView([23.1, 114.4], 9);
  mapDiv.classList.add("no-tiles");

  const [areas, roads] = await Promise.all([api("/areas"), api("/roads")]);
  const protectedAreas = areas.features.filter((f) => AREA_STYLE[f.properties.kind]);
  const areaNames = Object.fromEntries(areas.features.map((f) => [f.properties.code, f.properties.name]));
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
  const reading = { areas: "centres", counting: "jurisdiction", origins: "two_lines", min_road_class: "residential" };
  const readingWords = el("p", { id: "reading-words", style: SMALL });
  const readingForm = el("div", { class: "inline-form", id: "reading-selector" },
    Object.entries(READING_CHOICES).map(([key, options]) => el("select", {
      id: `reading-${key}`, title: key, onchange: (e) => { reading[key] = e.target.value; refresh(); } },
    options.map(([value, label]) => el("option", { value, ...(value === reading[key] ? { selected: "" } : {}) }, label)))));
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
    let rule;
    try {
      [report, rule] = await Promise.all([api("/coverage/what-if", { json: change }),
        api("/coverage/rule", { json: { reading, what_if: change } })]);
    } catch (err) {
      status.textContent = `错误 ${err.message}`;
      status.className = "error";
      return;
    }
    status.className = "";
    const roundTrip = ((performance.now() - started) / 1000).toFixed(2);
    status.textContent = `${rule.holds ? "满足 holds" : "不满足 does not hold"}: ` +
      `${rule.leaks.features.length} 条漏洞路线 leak routes · server ${rule.seconds.toFixed(2)} s, round trip ${roundTrip} s`;
    status.dataset.leaks = String(rule.leaks.features.length);
    const w = rule.reading.words;
    readingWords.textContent = `口径 reading: ${w.areas}；${w.counting}；${w.origins}；${w.roads}`;
    drawLeaks(rule);
    drawRing(report);
    drawSummary(rule);
    drawCritical(report);
    drawChanges();
  }

  function drawLeaks(report) {
    leakLayer.clearLayers();
    for (const f of report.leaks.features) {
      const p = f.properties;
      const text = `${p.area_name} ${DIRECTION[p.direction]}: ${p.captures} 次抓拍 captures · ${p.route}` +
        (p.checkpoints.length ? ` · ${p.checkpoints.join(", ")}` : "");
      L.geoJSON(f, { style: () => LEAK_STYLE }).bindTooltip(text).addTo(leakLayer);
      L.circleMarker([p.crossing[1], p.crossing[0]], { radius: 4, color: "#d00000", fillOpacity: 1,
        className: "leak-crossing" }).bindTooltip(text).addTo(leakLayer);
    }
  }

  function drawRing(report) {
    ringLayer.clearLayers();
    ringCodes = report.ring.filter((cp) => !cp.offline).map((cp) => cp.code);
    for (const cp of report.ring) {
      const marker = L.circleMarker([cp.lat, cp.lon], {
        radius: 6, weight: 2, color: "#fff", fillColor: cp.offline ? "#777" : "#1d7dd8",
        fillOpacity: cp.offline ? 0.5 : 0.95, className: `ring-checkpoint${cp.offline ? " offline" : ""}`,
      });
      marker.bindTooltip(`${cp.code} → ${areaNames[cp.area] ?? cp.area}${cp.offline ? " (离线 offline)" : ""}`);
      marker.bindPopup(() => checkpointActions(cp));
      marker.addTo(ringLayer);
    }
  }

  function checkpointActions(cp) {
    const down = change.offline.includes(cp.code);
    return el("div", { class: "popup" }, el("h3", {}, cp.code), el("p", {}, `守卫 guards ${areaNames[cp.area] ?? cp.area}`),
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
    if (placing === "forbid") {
      forbid.push(point);
      L.circleMarker([point.lat, point.lon], { radius: 5, color: "#000", fillColor: "#000", fillOpacity: 0.8,
        className: "forbidden-road" }).bindTooltip("禁止布点 no checkpoint on this road").addTo(map);
      placing = null;
      hint.textContent = `禁止布点 ${forbid.length} 处 forbidden roads: ${forbid.length}`;
      return;
    }
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
  const optimumLayer = L.layerGroup().addTo(map);
  const optimumText = el("div", { id: "optimum-result", style: SMALL });
  const counties = areas.features.filter((f) => f.properties.kind === "district");
  const PLAN_QUOTAS = { "441302": 20, "441303": 20, "441322": 15, "441323": 15, "441324": 15, dayawan: 15, zhongkai: 20 };
  const quotaInputs = counties.map((f) => el("input", { type: "number", min: "0", step: "1", style: "width:58px",
    class: "quota", "data-county": f.properties.code, value: String(PLAN_QUOTAS[f.properties.code] ?? 0),
    title: `${f.properties.name} 配额 quota` }));
  const CHECK = "width:auto;margin:0 4px 0 0;vertical-align:middle";
  const keepAll = el("input", { type: "checkbox", id: "optimum-keep", style: CHECK });
  const spendQuota = el("input", { type: "checkbox", id: "optimum-spend", checked: "", style: CHECK });
  const optimiseButton = el("button", { id: "optimise-placement", onclick: optimise }, "最优布点 Optimise placement");
  const forbid = [];
  const forbidButton = el("button", { id: "forbid-road", onclick: () => {
    placing = "forbid"; hint.textContent = "点击道路：此路不布点 Click a road to forbid it"; } }, "禁止此路 Forbid a road");
  async function optimise() {
    optimumText.textContent = "求解中 solving (≤ 10 s)…";
    const quotas = Object.fromEntries(quotaInputs.map((i) => [i.dataset.county, Number(i.value) || 0]));
    const keep = keepAll.checked ? ringCodes : [];
    let result;
    try {
      result = await api("/coverage/optimum", { json: { reading, quotas, keep, forbid, time_limit_s: 10,
        spend_quota: spendQuota.checked } });
    } catch (err) {
      optimumText.textContent = `错误 ${err.message}`;
      return;
    }
    drawOptimum(result);
  }
  const MARK = {
    added: { color: "#1b7a3a", fillColor: "#4caf50", className: "optimum-added", word: "新增 added" },
    moved: { color: "#b35900", fillColor: "#ff9800", className: "optimum-moved", word: "移动 moved" },
    removed: { color: "#555", fillColor: "#bbb", className: "optimum-removed", word: "撤除 removed" },
  };
  function dot(lat, lon, kind, text) {
    const m = MARK[kind];
    L.circleMarker([lat, lon], { radius: 6, weight: 2, color: m.color, fillColor: m.fillColor, fillOpacity: 0.95,
      className: m.className }).bindTooltip(`${m.word}: ${text}`).addTo(optimumLayer);
  }
  function drawOptimum(result) {
    optimumLayer.clearLayers();
    const ch = result.changes;
    for (const a of ch.added) dot(a.lat, a.lon, "added", a.code);
    for (const r of ch.removed) dot(r.lat, r.lon, "removed", r.code);
    for (const m of ch.moved) {
      L.polyline([[m.from_lonlat[1], m.from_lonlat[0]], [m.to_lonlat[1], m.to_lonlat[0]]], { color: "#b35900",
        weight: 2, dashArray: "4 4", className: "optimum-move-line" }).addTo(optimumLayer);
      dot(m.to_lonlat[1], m.to_lonlat[0], "moved", `${m.from} → ${m.to} (${(m.metres / 1000).toFixed(1)} km)`);
    }
    const best = result.optimum;
    const full = result.full_compliance;
    const after = result.after;
    optimumText.replaceChildren(
      el("p", {}, `最优 optimum: ${best.held}/${best.routes} 条路线 ≥2 次 routes hold · 用 ${best.checkpoints} 个卡口 · ` +
        `${best.status}, gap ${best.gap} · ${best.seconds} s · 全部满足需 full compliance needs ${full.checkpoints}` +
        (best.unreachable ? ` · ${best.unreachable} 条路线在本路网上无法满足 unreachable` : "")),
      el("p", {}, `移动 moved ${ch.moved.length} · 新增 added ${ch.added.length} · 撤除 removed ${ch.removed.length} · ` +
        `保留 kept ${ch.kept.length}`),
      el("table", { class: "grid", id: "optimum-counties" },
        el("tr", {}, el("th", {}, "县区"), el("th", {}, "配额 quota"), el("th", {}, "用 used"), el("th", {}, "全满足需 needed")),
        result.counties.map((c) => el("tr", { class: c.needed > c.quota ? "fails" : "" }, el("td", {}, c.name),
          el("td", {}, c.quota), el("td", {}, c.used), el("td", {}, c.needed)))),
      el("p", {}, `布点后 after: ${after.areas.filter((a) => a.holds).length}/${after.areas.length} 个区域满足 areas hold`),
      el("ul", { id: "optimum-leaks" }, after.leaks.features.slice(0, 4).map((f) =>
        el("li", {}, `${f.properties.captures} 次: ${f.properties.route}`))));
  }
  let ringCodes = [];
  const live = el("div", { id: "coverage-live", style: SMALL });
  async function drawLive() {
    const shares = await api("/coverage/live");
    const rows = shares.areas.filter((a) => a.crossings > 0);
    const weakest = shares.checkpoints.filter((c) => c.crossings > 0)
      .sort((a, b) => a.share - b.share || b.crossings - a.crossings).slice(0, 8);
    const verdicts = Object.entries(shares.verdicts).map(([k, v]) => `${k}: ${v}`).join(" · ");
    const byReading = shares.by_reading;
    const readingTable = byReading ? el("table", { class: "grid", id: "coverage-live-reading" },
      el("tr", {}, el("th", {}, "区域 Area"), el("th", {}, "静态 static"), el("th", {}, "穿越 crossings"),
        el("th", {}, "≥2 实测 live")),
      byReading.areas.map((a) => el("tr", {}, el("td", {}, a.name),
        el("td", { style: `color:${a.static_holds ? "#1b7a3a" : "#d00000"}` },
          `${a.static_holds ? "✓" : "✗"} ${a.min_captures_in ?? "-"}/${a.min_captures_out ?? "-"}`),
        el("td", {}, a.crossings), el("td", {}, a.share === null ? "-" : `${(100 * a.share).toFixed(1)} %`)))) : null;
    live.replaceChildren(el("h4", {}, "实时校验 Live (pass stream)"),
      byReading ? el("p", {}, `按口径 by the plan's reading: ${byReading.reading.words.counting}`) : null, readingTable,
      el("p", {}, "按区域环 by ring:"),
      rows.length ? el("table", { class: "grid" },
        el("tr", {}, el("th", {}, "区域 Area"), el("th", {}, "穿越 crossings"), el("th", {}, "≥2 share")),
        rows.map((a) => el("tr", {}, el("td", {}, a.code), el("td", {}, a.crossings),
          el("td", {}, `${(100 * a.share).toFixed(1)} %`))))
        : el("p", {}, "尚无数据 no crossings seen yet (run `checkpoint coverage verify`)"),
      verdicts ? el("p", {}, `单次抓拍原因 single captures: ${verdicts}`) : null,
      weakest.length ? el("p", {}, "最低卡口 weakest checkpoints: " +
        weakest.map((c) => `${c.code} ${(100 * c.share).toFixed(0)} % of ${c.crossings}`).join(" · ")) : null);
  }
  side.append(el("h2", {}, "覆盖校验 Coverage (≥ 2 captures)"), readingForm, readingWords, status, summary,
    el("h4", {}, "最优布点 Optimal placement (配额 quotas)"),
    el("div", { class: "inline-form", style: SMALL }, counties.map((f, i) => el("label", {}, `${f.properties.name} `,
      quotaInputs[i]))),
    el("div", { class: "inline-form", style: `${SMALL};align-items:center` },
      el("label", { style: "display:inline-flex;align-items:center" }, keepAll, "保留现有卡口 keep current"),
      el("label", { style: "display:inline-flex;align-items:center" }, spendQuota, "余额补第二层 spend spare quota"),
      forbidButton, optimiseButton),
    optimumText,
    el("h4", {}, "假设分析 What-if"), el("div", { class: "inline-form" }, guards, addButton, reset), hint, changes,
    el("div", { class: "inline-form" }, el("label", { style: SMALL }, "核心深度 core depth (m) ", depth)),
    el("div", { class: "inline-form" }, exportLink), critical, live);
  await refresh();
  drawLive().catch(() => { live.textContent = ""; });
}
