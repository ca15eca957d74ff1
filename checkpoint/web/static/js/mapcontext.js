// Map context drawn from our own geodata, no tile server: district and centre-area names, roads by class
// (with their names where the road graph has them), checkpoint labels once zoomed in, and a legend.
import { el } from "./api.js";

export const AREA_STYLE = {
  city: { color: "#0b3d91", weight: 3, fill: false },
  district: { color: "#5a6b85", weight: 1.5, dashArray: "6 4", fillOpacity: 0.03 },
  centre: { color: "#c77c02", weight: 2, fillColor: "#f5c26b", fillOpacity: 0.15 },
};
// OpenStreetMap classes (an imported road graph has them; the built-in one knows only "road")
export const ROAD_CLASSES = {
  motorway: { label: "高速公路 motorway", color: "#c0392b", weight: 3.5 },
  trunk: { label: "国道/快速路 trunk", color: "#e67e22", weight: 3 },
  primary: { label: "主干道 primary", color: "#d4a017", weight: 2.5 },
  secondary: { label: "次干道 secondary", color: "#8d8d3a", weight: 2 },
  tertiary: { label: "支路 tertiary", color: "#8a8a8a", weight: 1.5 },
  road: { label: "道路 road（未分级 unclassified）", color: "#8a8a8a", weight: 1.3 },
};
export const CHECKPOINT_LABEL_ZOOM = 12;

const roadClass = (highway) => ROAD_CLASSES[(highway || "road").replace(/_link$/, "")] ? (highway || "road").replace(/_link$/, "") : "road";
const roadText = (p) => `${p.name ? `${p.name} · ` : ""}${ROAD_CLASSES[roadClass(p.highway)].label}`;

// Districts and centre areas with their names written on the map (the city outline is drawn unnamed).
export function drawAreas(map, areas, { labels = true } = {}) {
  const layer = L.geoJSON(areas, {
    style: (f) => AREA_STYLE[f.properties.kind] || AREA_STYLE.district,
    onEachFeature: (f, part) => part.bindTooltip(`${f.properties.name}${f.properties.approximate ? "（近似 approx.）" : ""}`,
      { sticky: true }),
  }).addTo(map);
  if (labels) {
    for (const f of areas.features) {
      if (f.properties.kind === "city") continue;
      const centre = L.geoJSON(f).getBounds().getCenter();
      L.tooltip({ permanent: true, direction: "center", className: `area-label area-${f.properties.kind}`, interactive: false })
        .setLatLng(centre).setContent(f.properties.name).addTo(layer);
    }
  }
  return layer;
}

// Roads styled by class; each says its name and class on hover, the longest edge of each named road
// carries the name once zoomed in.
export function drawRoads(map, roads) {
  const layer = L.geoJSON(roads, {
    style: (f) => {
      const style = ROAD_CLASSES[roadClass(f.properties.highway)];
      return { color: style.color, weight: style.weight, opacity: 0.8, className: "road-edge" };
    },
    onEachFeature: (f, part) => part.bindTooltip(roadText(f.properties), { sticky: true }),
  }).addTo(map);
  const longest = new Map();
  for (const f of roads.features) {
    const name = f.properties.name;
    if (name && (!longest.has(name) || longest.get(name).properties.length_m < f.properties.length_m)) longest.set(name, f);
  }
  const names = L.layerGroup([...longest.values()].map((f) => {
    const coords = f.geometry.coordinates;
    const [lon, lat] = coords[Math.floor(coords.length / 2)];
    return L.tooltip({ permanent: true, direction: "center", className: "road-label", interactive: false })
      .setLatLng([lat, lon]).setContent(f.properties.name);
  }));
  showFromZoom(map, names, 13);
  layer.classesPresent = [...new Set(roads.features.map((f) => roadClass(f.properties.highway)))];
  return layer;
}

// "code name" beside every checkpoint once the map is zoomed in far enough to read them.
export function labelCheckpoints(map, checkpoints, minZoom = CHECKPOINT_LABEL_ZOOM) {
  const labels = L.layerGroup(checkpoints.features.map((f) => {
    const [lon, lat] = f.geometry.coordinates;
    return L.tooltip({ permanent: true, direction: "right", offset: [7, 0], className: "cp-label", interactive: false })
      .setLatLng([lat, lon]).setContent(`${f.properties.code} ${f.properties.name}`);
  }));
  showFromZoom(map, labels, minZoom);
  return labels;
}

function showFromZoom(map, layer, minZoom) {
  const toggle = () => {
    if (map.getZoom() >= minZoom) layer.addTo(map);
    else layer.remove();
  };
  map.on("zoomend", toggle);
  toggle();
}

// A legend: the context's own rows (areas, the road classes drawn) then the page's.
export function addLegend(map, roadLayer, rows = []) {
  const legend = L.control({ position: "bottomleft" });
  const roadRows = (roadLayer?.classesPresent || []).map((name) => el("div", {},
    el("span", { class: "line", style: `border-top: ${ROAD_CLASSES[name].weight}px solid ${ROAD_CLASSES[name].color}` }),
    ROAD_CLASSES[name].label));
  legend.onAdd = () => el("div", { class: "legend", id: "map-legend" },
    el("div", {}, el("span", { class: "swatch district" }), "区县界 district"),
    el("div", {}, el("span", { class: "swatch centre" }), "城区 centre area"),
    ...roadRows, ...rows,
    el("div", { class: "hint" }, `放大到 ${CHECKPOINT_LABEL_ZOOM} 级显示卡口名称 zoom in for checkpoint names`));
  legend.addTo(map);
  return legend;
}
