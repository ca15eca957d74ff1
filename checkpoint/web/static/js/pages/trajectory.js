// 轨迹 Trajectory: a plate's trips drawn along the roads, replayed on the map with a time slider.
import { api, el, formatTime } from "../api.js";
import { addLegend, drawAreas, drawRoads, labelCheckpoints } from "../mapcontext.js";

const TRIP_COLOURS = ["#d62828", "#1d7dd8", "#2a9d8f", "#e76f51", "#6a4c93", "#c77c02"];
const STYLE_ID = "trajectory-style";
const STYLE = `
#side.trajectory-side { width: 360px; }
#side label { display: block; font-size: 12px; color: #5a6b85; }
#side .row { display: flex; gap: 6px; } #side .row > * { flex: 1; min-width: 0; }
#side .row input { font-size: 12px; }
.replay { margin: 8px 0; padding: 8px; background: #f4f6fa; border-radius: 4px; }
.replay input[type=range] { width: 100%; }
.replay .now { font-family: monospace; font-size: 13px; }
.trip-list { font-size: 12px; } .trip-list li { margin-bottom: 4px; }
.trip-list .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.exports a { margin-right: 10px; }
#side.trajectory-side.with-passes { width: 560px; }
.pass-table { font-size: 12px; width: 100%; border-collapse: collapse; }
.pass-table th, .pass-table td { border-bottom: 1px solid #e3e7ee; padding: 3px 4px; text-align: left; vertical-align: middle; }
.pass-table tr { cursor: pointer; } .pass-table tr.current { background: #fff4cc; }
.pass-table img { height: 38px; border: 1px solid #ccc; }
.pass-image-view { margin: 6px 0; } .pass-image-view img { max-width: 100%; border: 1px solid #ccc; }
`;
const DIRECTION = { in: "入城 in", out: "出城 out" };

// A wall-clock time typed in the site's zone (from <input type=datetime-local>) as a UTC ISO string.
export function zonedIso(value, timeZone) {
  const [date, time = "00:00"] = value.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi, s = 0] = time.split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(guess)).map((p) => [p.type, p.value]));
  const shown = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return new Date(guess - (shown - guess)).toISOString();
}

// The site's wall-clock time of an instant, as a datetime-local value.
export function zonedInput(ms, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

export function addStyle() {
  if (!document.getElementById(STYLE_ID)) document.head.append(el("style", { id: STYLE_ID }, STYLE));
}

// Position along a polyline of [lat, lon] at fraction f of its length (planar, good over a few km).
function along(latlngs, f) {
  const lengths = [0];
  for (let i = 1; i < latlngs.length; i += 1) {
    const [a, b] = [latlngs[i - 1], latlngs[i]];
    lengths.push(lengths[i - 1] + Math.hypot(b[0] - a[0], (b[1] - a[1]) * Math.cos((a[0] * Math.PI) / 180)));
  }
  const target = f * lengths[lengths.length - 1];
  for (let i = 1; i < latlngs.length; i += 1) {
    if (lengths[i] >= target) {
      const span = lengths[i] - lengths[i - 1] || 1;
      const g = (target - lengths[i - 1]) / span;
      const [a, b] = [latlngs[i - 1], latlngs[i]];
      return { point: [a[0] + (b[0] - a[0]) * g, a[1] + (b[1] - a[1]) * g], upTo: latlngs.slice(0, i) };
    }
  }
  return { point: latlngs[latlngs.length - 1], upTo: latlngs };
}

// The replay timeline: every leg with its times and [lat, lon] path, and every pass as a stop.
function timeline(trajectory) {
  const legs = [];
  const stops = [];
  for (const trip of trajectory.trips) {
    for (const pass of trip.passes) stops.push({ t: Date.parse(pass.captured_at), at: [pass.lat, pass.lon], trip: trip.index });
    for (const leg of trip.legs) {
      legs.push({ t0: Date.parse(leg.start_at), t1: Date.parse(leg.end_at), speed: leg.speed_kmh, trip: trip.index,
                  path: leg.coordinates.map(([lon, lat]) => [lat, lon]) });
    }
  }
  return { legs, stops, t0: stops[0].t, t1: stops[stops.length - 1].t };
}

function positionAt(line, t) {
  const leg = line.legs.find((l) => l.t0 <= t && t <= l.t1);
  if (leg) {
    const f = leg.t1 > leg.t0 ? (t - leg.t0) / (leg.t1 - leg.t0) : 1;
    return { ...along(leg.path, f), leg };
  }
  const last = [...line.stops].reverse().find((s) => s.t <= t) || line.stops[0];
  return { point: last.at, upTo: [], leg: null };
}

export async function render(root, { config }) {
  addStyle();
  const mapDiv = el("div", { id: "map" });
  const side = el("aside", { id: "side", class: "trajectory-side" });
  root.append(el("div", { class: "map-layout" }, mapDiv, side));
  const map = L.map(mapDiv).setView([23.1, 114.4], 9);
  if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: 18 }).addTo(map);
  else mapDiv.classList.add("no-tiles");
  const [areas, roads, checkpoints] = await Promise.all([api("/areas"), api("/roads"), api("/checkpoints")]);
  drawAreas(map, areas);
  const roadLayer = drawRoads(map, roads);
  L.geoJSON(checkpoints, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 3, weight: 1, color: "#555", fillOpacity: 0.5 }),
    onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.code} ${f.properties.name}`),
  }).addTo(map);
  labelCheckpoints(map, checkpoints);
  addLegend(map, roadLayer, [
    el("div", {}, el("span", { class: "line", style: "border-top: 4px solid #d62828" }), "行程 trip (每段一色 one colour each)"),
    el("div", {}, el("span", { class: "dot", style: "background:#ffd166;border:2px solid #111" }), "回放车辆 replayed vehicle")]);
  map.fitBounds(roadLayer.getBounds());

  const now = Date.now();
  const params = new URLSearchParams(window.location.search);
  const form = el("form", { id: "trajectory-form" },
    el("label", {}, "号牌 Plate"), el("input", { name: "plate", id: "plate", required: true, value: params.get("plate") || "", placeholder: "粤L12345" }),
    el("div", { class: "row" },
      el("div", {}, el("label", {}, "开始 From"), el("input", { type: "datetime-local", name: "start", id: "start", value: zonedInput(params.get("start") ? Date.parse(params.get("start")) : now - 7 * 864e5, config.timezone) })),
      el("div", {}, el("label", {}, "结束 To"), el("input", { type: "datetime-local", name: "end", id: "end", value: zonedInput(params.get("end") ? Date.parse(params.get("end")) : now, config.timezone) }))),
    el("label", {}, "分段间隔 Trip gap (min)"), el("input", { type: "number", name: "gap_min", id: "gap", value: "30", min: "1" }),
    el("label", {}, "匹配 Match"), el("select", { name: "match", id: "match" },
      el("option", { value: "exact" }, "精确 exact"),
      el("option", { value: "strict" }, "模糊 fuzzy: one misread character"),
      el("option", { value: "normal" }, "模糊 fuzzy: two misreads, or one missing/extra")),
    el("label", {}, "查询事由 Reason (audited)"), el("input", { name: "reason", id: "reason", required: true, minlength: "4", placeholder: "案件编号 / 事由" }),
    el("button", { type: "submit", id: "trajectory-search" }, "查询轨迹 Search"));
  if (params.get("match")) form.querySelector("#match").value = params.get("match");
  const status = el("p", { id: "trajectory-status" });
  const results = el("div", { id: "trajectory-results" });
  side.append(el("h2", {}, "轨迹 Trajectory"), form, status, results);

  let drawn = L.layerGroup().addTo(map);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const query = new URLSearchParams({ reason: data.reason, gap_min: data.gap_min || "30",
      start: zonedIso(data.start, config.timezone), end: zonedIso(data.end, config.timezone) });
    if (data.match && data.match !== "exact") { query.set("mode", "fuzzy"); query.set("strictness", data.match); }
    const path = `/trajectories/${encodeURIComponent(data.plate.trim())}`;
    status.className = ""; status.textContent = "查询中 Searching…";
    results.replaceChildren();
    drawn.remove();
    drawn = L.layerGroup().addTo(map);
    try {
      const trajectory = await api(`${path}?${query}`);
      status.textContent = `${trajectory.plates.join(" / ")}: ${trajectory.pass_count} 次过车 passes, ${trajectory.trips.length} 段行程 trips` +
        (trajectory.truncated ? "（已截断 truncated）" : "");
      side.classList.toggle("with-passes", trajectory.pass_count > 0);
      if (trajectory.pass_count) showTrajectory(map, drawn, results, trajectory, config, `/api/v1${path}/export?${query}`);
    } catch (err) {
      status.className = "error"; status.textContent = err.message;
    }
  });
  if (params.get("plate") && params.get("reason")) {
    form.querySelector("#reason").value = params.get("reason");
    form.requestSubmit();
  }
}

function showTrajectory(map, drawn, results, trajectory, config, exportUrl) {
  const colour = (trip) => TRIP_COLOURS[trip % TRIP_COLOURS.length];
  const bounds = L.latLngBounds([]);
  for (const trip of trajectory.trips) {
    for (const leg of trip.legs) {
      const line = L.polyline(leg.coordinates.map(([lon, lat]) => [lat, lon]),
        { color: colour(trip.index), weight: 4, opacity: 0.75, className: "trip-line" }).addTo(drawn);
      line.bindTooltip(`${(leg.distance_m / 1000).toFixed(1)} km, ${leg.speed_kmh ?? "–"} km/h`);
      bounds.extend(line.getBounds());
    }
    trip.passes.forEach((pass, order) => {
      const marker = L.circleMarker([pass.lat, pass.lon], { radius: 5, color: "#fff", weight: 2,
        fillColor: colour(trip.index), fillOpacity: 1, className: "pass-marker" }).addTo(drawn);
      marker.bindTooltip(`${trip.index + 1}.${order + 1} ${formatTime(pass.captured_at, config.timezone)} ${pass.checkpoint_code}`);
      bounds.extend(marker.getLatLng());
    });
  }
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 14 });

  const line = timeline(trajectory);
  const trail = L.polyline([], { color: "#111", weight: 6, opacity: 0.35 }).addTo(drawn);
  const vehicle = L.circleMarker(line.stops[0].at, { radius: 9, color: "#111", weight: 3, fillColor: "#ffd166",
    fillOpacity: 1, className: "replay-vehicle" }).addTo(drawn);
  const slider = el("input", { type: "range", id: "replay-slider", min: "0", max: String(Math.max(1, (line.t1 - line.t0) / 1000)), step: "1", value: "0" });
  const clock = el("div", { class: "now", id: "replay-time" });
  const play = el("button", { type: "button", id: "replay-play" }, "▶ 回放 Replay");
  const travelled = [];
  const show = () => {
    const t = line.t0 + Number(slider.value) * 1000;
    const at = positionAt(line, t);
    vehicle.setLatLng(at.point);
    travelled.length = 0;
    for (const leg of line.legs) {
      if (leg.t1 <= t) travelled.push(...leg.path);
      else if (leg === at.leg) travelled.push(...at.upTo, at.point);
    }
    trail.setLatLngs(travelled);
    const speed = at.leg && at.leg.speed !== null ? `  ${at.leg.speed} km/h` : "  停 stopped";
    clock.textContent = `${formatTime(new Date(t).toISOString(), config.timezone)}${speed}`;
  };
  let timer = null;
  play.addEventListener("click", () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ 回放 Replay"; return; }
    play.textContent = "⏸ 暂停 Pause";
    const step = Math.max(1, Number(slider.max) / 400);
    timer = setInterval(() => {
      slider.value = String(Math.min(Number(slider.max), Number(slider.value) + step));
      show();
      markCurrent();
      if (Number(slider.value) >= Number(slider.max)) { clearInterval(timer); timer = null; play.textContent = "▶ 回放 Replay"; }
    }, 50);
  });
  slider.addEventListener("input", () => { show(); markCurrent(); });

  // The pass table beside the replay: time, checkpoint, direction, image; a row moves the replay there.
  const rows = [];
  const viewer = el("div", { class: "pass-image-view", id: "pass-image-view" });
  const table = el("table", { class: "pass-table", id: "pass-table" },
    el("tr", {}, ["#", "时间 time", "卡口 checkpoint", "方向 dir.", "图片 image"].map((h) => el("th", {}, h))));
  trajectory.trips.forEach((trip) => trip.passes.forEach((pass, order) => {
    const t = Date.parse(pass.captured_at);
    const thumb = pass.image_path ? el("img", { src: `/api/v1/passes/${pass.id}/images/scene`, alt: `过车图片 ${pass.plate}`,
      loading: "lazy", onerror: (e) => e.target.replaceWith("无 none") }) : "无 none";
    const row = el("tr", { "data-pass": pass.id, onclick: () => {
      slider.value = String(Math.round((t - line.t0) / 1000)); show(); markCurrent();
      viewer.replaceChildren(pass.image_path ? el("img", { src: `/api/v1/passes/${pass.id}/images/scene`, alt: pass.plate }) : "",
        el("div", {}, `${formatTime(pass.captured_at, config.timezone)} ${pass.checkpoint_code} ${pass.checkpoint_name} ${DIRECTION[pass.direction] || ""}`));
    } },
      el("td", {}, el("span", { class: "swatch", style: `display:inline-block;width:8px;height:8px;background:${colour(trip.index)}` }), ` ${trip.index + 1}.${order + 1}`),
      el("td", {}, formatTime(pass.captured_at, config.timezone)),
      el("td", {}, `${pass.checkpoint_code} ${pass.checkpoint_name}`),
      el("td", {}, DIRECTION[pass.direction] || pass.direction || "–"),
      el("td", {}, thumb));
    rows.push({ t, row });
    table.append(row);
  }));
  const markCurrent = () => {
    const t = line.t0 + Number(slider.value) * 1000;
    const current = [...rows].reverse().find((r) => r.t <= t) || rows[0];
    for (const r of rows) r.row.classList.toggle("current", r === current);
  };
  show();
  markCurrent();

  const trips = el("ol", { class: "trip-list" }, trajectory.trips.map((trip) => el("li", {},
    el("span", { class: "swatch", style: `background:${colour(trip.index)}` }),
    `${formatTime(trip.start_at, config.timezone)} → ${formatTime(trip.end_at, config.timezone).slice(-8)}, `,
    `${trip.passes.length} 卡口, ${(trip.distance_m / 1000).toFixed(1)} km`)));
  const exports = el("p", { class: "exports" },
    el("a", { href: `${exportUrl}&format=geojson`, download: "", id: "export-geojson" }, "导出 GeoJSON"),
    el("a", { href: `${exportUrl}&format=csv`, download: "", id: "export-csv" }, "导出 CSV"));
  results.append(el("div", { class: "replay" }, play, slider, clock), el("h3", {}, "行程 Trips"), trips, exports,
    el("h3", {}, `过车记录 Passes (${rows.length})`), viewer, table);
}
