// Checkpoint administration (admins): the list, and a form to edit name, position, lanes,
// directions, class and active state; every change asks why, for the audit log.
import { api, el } from "../api.js";

const LINES = { city: "市界 city line", county: "县界/城区 county line" };
const RETENTION = { 1: "一类 30 天 class 1", 2: "二类 15 天 class 2" };
const DIRECTIONS = { in: "入城 in", out: "出城 out" };

export async function render(root) {
  const message = el("p", { class: "message", role: "status", id: "cp-message" });
  const filter = el("input", { type: "search", placeholder: "搜索 编号/名称/道路 Search code, name, road", id: "cp-admin-filter" });
  const table = el("table", { class: "grid", id: "checkpoints-table" });
  const editor = el("div", { id: "cp-editor" });
  root.append(el("div", { class: "admin-split" },
    el("section", { class: "panel" }, el("h2", {}, "卡口管理 Checkpoints"), filter, table),
    el("section", { class: "panel", id: "cp-edit-panel" }, el("h2", {}, "编辑卡口 Edit checkpoint"), message, editor)));
  editor.append(el("p", {}, "在左侧列表中选择一个卡口 Pick a checkpoint on the left."));
  const show = (text, bad = false) => { message.textContent = text; message.className = bad ? "error" : "message"; };

  let features = [];
  let roads = null;
  // A small map of the checkpoint among its roads and neighbours: a click moves it (the inputs follow).
  const placeOnMap = async (form, all, code, lat, lon) => {
    roads = roads || await api("/roads");
    const map = L.map(form.querySelector("#cp-minimap"), { zoomControl: true }).setView([lat, lon], 14);
    L.geoJSON(roads, { style: { color: "#8a93a3", weight: 1.5 }, interactive: false }).addTo(map);
    for (const f of all) {
      if (f.properties.code === code) continue;
      const [x, y] = f.geometry.coordinates;
      L.circleMarker([y, x], { radius: 4, color: "#5a6b85", weight: 1, fillOpacity: 0.6 })
        .bindTooltip(`${f.properties.code} ${f.properties.name}`).addTo(map);
    }
    const here = L.circleMarker([lat, lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#d62828", fillOpacity: 0.95 })
      .bindTooltip(code, { permanent: true, direction: "right" }).addTo(map);
    map.on("click", (event) => {
      here.setLatLng(event.latlng);
      form.elements.lat.value = event.latlng.lat.toFixed(6);
      form.elements.lon.value = event.latlng.lng.toFixed(6);
    });
  };
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    const rows = features.map((f) => f.properties)
      .filter((p) => !q || `${p.code} ${p.name} ${p.road} ${p.district_name}`.toLowerCase().includes(q));
    table.replaceChildren(
      el("tr", {}, ["编号 Code", "名称 Name", "辖区 District", "车道 Lanes", "防线 Line", "状态 State"].map((h) => el("th", {}, h))),
      ...rows.map((p) => el("tr", { "data-code": p.code, class: p.active ? "" : "inactive" },
        el("td", {}, el("a", { href: "#", class: "cp-edit-link", onclick: (e) => { e.preventDefault(); edit(p.code); } }, p.code)),
        el("td", {}, p.name), el("td", {}, p.district_name), el("td", {}, p.lanes),
        el("td", {}, LINES[p.defence_line] || p.defence_line), el("td", {}, p.active ? "启用 active" : "停用 inactive"))));
  };
  const load = async () => { features = (await api("/checkpoints")).features; draw(); };
  filter.addEventListener("input", draw);

  const edit = async (code) => {
    const f = await api(`/checkpoints/${encodeURIComponent(code)}`);
    const p = f.properties;
    const [lon, lat] = f.geometry.coordinates;
    const field = (label, input) => el("label", {}, el("span", {}, label), input);
    const form = el("form", { class: "stack-form", id: "cp-form" },
      el("h3", {}, `${p.code} ${p.name}`),
      field("名称 Name", el("input", { name: "name", value: p.name, required: true, maxlength: 128 })),
      el("div", { class: "row" },
        field("纬度 Latitude", el("input", { name: "lat", type: "number", step: "0.000001", value: lat })),
        field("经度 Longitude", el("input", { name: "lon", type: "number", step: "0.000001", value: lon }))),
      el("div", { class: "cp-minimap", id: "cp-minimap", title: "点击地图移动卡口 Click the map to move the checkpoint" }),
      el("div", { class: "row" },
        field("车道数 Lanes", el("input", { name: "lanes", type: "number", min: 1, max: 16, value: p.lanes })),
        field("防线 Line class", el("select", { name: "defence_line" },
          Object.entries(LINES).map(([v, t]) => el("option", { value: v, selected: v === p.defence_line }, t)))),
        field("保存 Retention", el("select", { name: "retention_class" },
          Object.entries(RETENTION).map(([v, t]) => el("option", { value: v, selected: Number(v) === p.retention_class }, t))))),
      el("fieldset", {}, el("legend", {}, "方向 Directions"),
        Object.entries(DIRECTIONS).map(([v, t]) => el("label", { class: "check" },
          el("input", { type: "checkbox", name: "directions", value: v, checked: p.directions.includes(v) }), t))),
      el("label", { class: "check" }, el("input", { type: "checkbox", name: "active", checked: p.active }), "启用 Active（停用：设备推送被拒收，预测不经过此卡口 inactive: its devices' pushes are refused, predictions skip it）"),
      field("修改原因 Reason for the change（记入审计 audited）",
        el("textarea", { name: "change_reason", rows: 2, required: true, placeholder: "例如：设备迁移至路口东侧" })),
      el("button", { type: "submit" }, "保存 Save"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = {
        name: data.get("name"), lanes: Number(data.get("lanes")), defence_line: data.get("defence_line"),
        retention_class: Number(data.get("retention_class")), directions: data.getAll("directions"),
        active: form.elements.active.checked, change_reason: data.get("change_reason"),
      };
      const newLat = Number(data.get("lat")), newLon = Number(data.get("lon"));
      if (newLat !== lat || newLon !== lon) Object.assign(body, { lat: newLat, lon: newLon });
      for (const key of ["name", "lanes", "defence_line", "retention_class", "active"]) {
        if (body[key] === p[key]) delete body[key];
      }
      if ([...body.directions].sort().join() === [...p.directions].sort().join()) delete body.directions;
      try {
        const saved = await api(`/checkpoints/${encodeURIComponent(code)}`, { method: "PATCH", json: body });
        show(`已保存 saved: ${saved.properties.code} ${saved.properties.name}`);
        await load();
        await edit(code);
      } catch (err) { show(err.message, true); }
    });
    editor.replaceChildren(form);
    placeOnMap(form, features, code, lat, lon);
  };
  await load();
}
