// The map: areas, the road graph and the checkpoints, as vector layers (no tile server needed).
import { api, el } from "../api.js";
import { addLegend, drawAreas, drawRoads, labelCheckpoints } from "../mapcontext.js";

const LINE_COLOUR = { city: "#d62828", county: "#1d7dd8" };
const DIRECTION = { in: "入城 in", out: "出城 out" };
const STATUS_COLOUR = { online: "#2e7d32", offline: "#ff1744" };
const STATUS_TEXT = { online: "在线 online", offline: "离线 offline" };

function checkpointPopup(p) {
  const dirs = (p.directions || []).map((d) => DIRECTION[d] || d).join(" / ");
  return el("div", { class: "popup" },
    el("h3", {}, p.name),
    el("table", {},
      el("tr", {}, el("th", {}, "编号 Code"), el("td", { class: "cp-code" }, p.code)),
      el("tr", {}, el("th", {}, "辖区 District"), el("td", {}, p.district_name)),
      el("tr", {}, el("th", {}, "道路 Road"), el("td", {}, p.road)),
      el("tr", {}, el("th", {}, "防线 Line"), el("td", {}, p.defence_line === "city" ? "市界 city line" : "县界/城区 county line")),
      el("tr", {}, el("th", {}, "方向 Directions"), el("td", {}, dirs)),
      el("tr", {}, el("th", {}, "车道 Lanes"), el("td", {}, p.lanes)),
      el("tr", {}, el("th", {}, "保存 Retention"), el("td", {}, p.retention_class === 1 ? "一类 30 天" : "二类 15 天")),
      el("tr", {}, el("th", {}, "设备 Feeds"), el("td", {}, p.feeds)),
      p.status ? el("tr", {}, el("th", {}, "状态 Status"), el("td", {}, STATUS_TEXT[p.status] || p.status)) : null,
    ),
    el("p", { class: "reason" }, p.reason));
}

export async function render(root, { config }) {
  const mapDiv = el("div", { id: "map" });
  const side = el("aside", { id: "side" });
  root.append(el("div", { class: "map-layout" }, mapDiv, side));
  const map = L.map(mapDiv, { preferCanvas: false, zoomControl: true }).setView([23.1, 114.4], 9);
  if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: 18 }).addTo(map);
  else mapDiv.classList.add("no-tiles");

  const [areas, roads, checkpoints] = await Promise.all([api("/areas"), api("/roads"), api("/checkpoints")]);
  let feedStates = {};
  const areaLayer = drawAreas(map, areas);
  const roadLayer = drawRoads(map, roads);
  const markers = new Map();
  const checkpointLayer = L.geoJSON(checkpoints, {
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {
      radius: 6, weight: 2, color: "#fff", fillColor: LINE_COLOUR[f.properties.defence_line] || "#333",
      fillOpacity: f.properties.active ? 0.95 : 0.35, className: "checkpoint-marker",
    }),
    onEachFeature: (f, layer) => {
      layer.bindPopup(() => checkpointPopup({ ...f.properties, status: feedStates[f.properties.code] }));
      layer.bindTooltip(`${f.properties.code} ${f.properties.name}`);
      markers.set(f.properties.code, layer);
    },
  }).addTo(map);
  labelCheckpoints(map, checkpoints);
  // Feed status (admins, dispatchers, planners): the marker's ring is green when a video feed is
  // online and red when all its feeds are down; other roles see the plain markers.
  const paintStatus = async () => {
    try {
      const status = await api("/feeds/status?hours=24");
      feedStates = status.checkpoints;
      for (const [code, marker] of markers) {
        const state = feedStates[code];
        marker.setStyle(state ? { color: STATUS_COLOUR[state], weight: 3 } : { color: "#fff", weight: 2 });
        marker.getElement()?.setAttribute("data-status", state || "none");
      }
    } catch (err) {
      if (err.status !== 403) console.warn("feed status", err.message);
    }
  };
  await paintStatus();
  setInterval(paintStatus, 15000);
  // 在线率 / 完好率 of the whole network over the last 24 h against the plan (admins, dispatchers, planners).
  const figures = L.control({ position: "topright" });
  const figureBox = el("div", { class: "map-figures", id: "map-figures", hidden: true });
  figures.onAdd = () => figureBox;
  figures.addTo(map);
  const paintFigures = async () => {
    try {
      const h = await api("/devices/health");
      const show = (label, value, plan) => el("div", {}, `${label} `,
        el("span", { class: value === null ? "" : value >= plan ? "ok" : "bad" },
           value === null ? "—" : `${(value * 100).toFixed(1)}%`), ` / 计划 ≥ ${(plan * 100).toFixed(0)}%`);
      figureBox.replaceChildren(show("在线率 online", h.network.online_rate, h.plan.online_rate),
        show("完好率 intact", h.network.intact_rate, h.plan.intact_rate),
        h.outages.length ? el("div", { class: "bad" }, `⚠ 离线告警 ${h.outages.length} outages`) : null);
      figureBox.hidden = false;
    } catch (err) {
      if (err.status !== 403) console.warn("device health", err.message);
    }
  };
  await paintFigures();
  setInterval(paintFigures, 30000);
  L.control.layers(null, { "区域 Areas": areaLayer, "道路 Roads": roadLayer, "卡口 Checkpoints": checkpointLayer },
                   { collapsed: false }).addTo(map);
  map.fitBounds(areaLayer.getBounds(), { padding: [10, 10] });

  addLegend(map, roadLayer, [
    el("div", {}, el("span", { class: "dot", style: `background:${LINE_COLOUR.city}` }), "市界卡口 city line"),
    el("div", {}, el("span", { class: "dot", style: `background:${LINE_COLOUR.county}` }), "县界/城区卡口 county line"),
    el("div", {}, el("span", { class: "dot ring", style: `border-color:${STATUS_COLOUR.online}` }), "视频在线 feed online"),
    el("div", {}, el("span", { class: "dot ring", style: `border-color:${STATUS_COLOUR.offline}` }), "视频离线 feed offline")]);

  renderSide(side, checkpoints.features, (code) => {
    const marker = markers.get(code);
    map.setView(marker.getLatLng(), 13);
    marker.openPopup();
  });
}

function renderSide(side, features, focus) {
  const byDistrict = new Map();
  for (const f of features) {
    const key = f.properties.district_name;
    if (!byDistrict.has(key)) byDistrict.set(key, []);
    byDistrict.get(key).push(f.properties);
  }
  const filter = el("input", { type: "search", placeholder: "搜索卡口 Search checkpoints", id: "cp-filter" });
  const list = el("div", { class: "cp-list" });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    list.replaceChildren();
    for (const [district, items] of byDistrict) {
      const shown = items.filter((p) => !q || `${p.code} ${p.name} ${p.road}`.toLowerCase().includes(q));
      if (!shown.length) continue;
      list.append(el("h4", {}, `${district} (${items.length})`),
        el("ul", {}, shown.map((p) => el("li", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); focus(p.code); } },
          `${p.code} ${p.name}`)))));
    }
  };
  filter.addEventListener("input", draw);
  side.append(el("h2", {}, `卡口 ${features.length} 个`), filter, list);
  draw();
}
