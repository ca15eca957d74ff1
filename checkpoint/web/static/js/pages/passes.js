// Live passes: the newest stored passes, polled; admins also register pushing cameras (devices) here.
import { api, el, formatTime } from "../api.js";
import { checkpointChoices, picker } from "../pickers.js";

const POLL_MS = 2000;
const COLOURS = { blue: "#1f5fbf", yellow: "#e0b000", green: "#2e9d4f", white: "#f2f2f2", black: "#222", unknown: "#999" };
const COLOUR_NAMES = { blue: "蓝 blue", yellow: "黄 yellow", green: "绿 green", white: "白 white", black: "黑 black", unknown: "未知 unknown" };

function plateCell(p) {
  const colour = COLOURS[p.plate_colour] || COLOURS.unknown;
  const text = ["white", "yellow", "green"].includes(p.plate_colour) ? "#111" : "#fff";
  return el("span", { class: "plate", style: `display:inline-block;padding:2px 8px;border-radius:3px;font-weight:700;` +
    `letter-spacing:1px;background:${colour};color:${text};border:1px solid #555` }, p.plate);
}

function thumb(p) {
  if (!p.has_plate) return "";
  return el("img", { src: `/api/v1/passes/${p.id}/images/plate`, alt: p.plate, loading: "lazy", class: "plate-crop",
                     style: "height:28px;max-width:110px;border:1px solid #ccc" });
}

async function renderPasses(root, config) {
  const status = el("p", { class: "message", role: "status", id: "passes-status" });
  const filter = el("input", { name: "checkpoint", placeholder: "卡口编号 checkpoint code (all)", id: "passes-filter" });
  const table = el("table", { class: "grid", id: "passes-table" });
  root.append(el("section", { class: "panel" }, el("h2", {}, "实时过车 Live passes"),
    el("div", { class: "inline-form" }, filter), status, table));
  const header = el("tr", {}, ["时间 time", "号牌 plate", "颜色 colour", "车牌图 crop", "卡口 checkpoint", "车道 lane",
    "方向 direction", "速度 km/h"].map((h) => el("th", {}, h)));
  let lastKey = "";
  const load = async () => {
    const params = new URLSearchParams({ limit: "50" });
    if (filter.value.trim()) params.set("checkpoint", filter.value.trim());
    try {
      const passes = await api(`/passes/recent?${params}`);
      const key = passes.map((p) => p.id).join(",");
      status.textContent = `${passes.length} 条 passes in the last 24 h · ${formatTime(new Date().toISOString(), config.timezone)}`;
      status.className = "message";
      if (key === lastKey) return;  // keep the thumbnails instead of reloading them every poll
      lastKey = key;
      table.replaceChildren(header, ...passes.map((p) => el("tr", { "data-pass-id": p.id },
        el("td", {}, formatTime(p.captured_at, config.timezone)), el("td", {}, plateCell(p)),
        el("td", {}, COLOUR_NAMES[p.plate_colour] || p.plate_colour), el("td", {}, thumb(p)),
        el("td", { title: p.checkpoint_name }, `${p.checkpoint_code} ${p.checkpoint_name}`), el("td", {}, p.lane ?? ""),
        el("td", {}, p.direction === "in" ? "进 in" : p.direction === "out" ? "出 out" : ""),
        el("td", {}, p.speed_kmh ?? ""))));
    } catch (err) {
      status.textContent = err.message;
      status.className = "error";
    }
  };
  filter.addEventListener("change", () => { lastKey = ""; load(); });
  await load();
  setInterval(load, POLL_MS);
}

async function renderDevices(root, config) {
  const checkpoints = await checkpointChoices();
  const checkpointLabel = new Map(checkpoints.map((c) => [c.id, c.label]));  // devices name checkpoints by code + name
  const message = el("p", { class: "message", role: "status" });
  const keyBox = el("p", { id: "device-key-box", hidden: true });
  const table = el("table", { class: "grid", id: "devices-table" });
  const form = el("form", { class: "inline-form", id: "device-form" },
    el("input", { name: "code", placeholder: "设备编号 device code", required: true }),
    el("input", { name: "name", placeholder: "名称 name" }),
    picker(checkpoints, { id: "device-checkpoint", name: "checkpoint", placeholder: "卡口 checkpoint：输入编号或名称" }),
    el("input", { name: "lanes", placeholder: "车道 lanes, e.g. 1,2 (all)" }),
    el("select", { name: "direction" }, el("option", { value: "" }, "方向 any"), el("option", { value: "in" }, "进 in"),
      el("option", { value: "out" }, "出 out")),
    el("select", { name: "kind" }, el("option", { value: "smart" }, "智能 smart (pushes records)"),
      el("option", { value: "snapshot" }, "抓拍 snapshot (pushes JPEGs)")),
    el("button", { type: "submit" }, "登记 Register device"));
  root.append(el("section", { class: "panel" }, el("h2", {}, "设备 Devices (pushing cameras)"), form, message, keyBox, table));
  const show = (text, bad = false) => { message.textContent = text; message.className = bad ? "error" : "message"; };
  const load = async () => {
    const devices = await api("/devices");
    table.replaceChildren(el("tr", {}, ["编号 code", "名称 name", "卡口 checkpoint", "车道 lanes", "方向", "类型 kind", "密钥 key",
      "状态", "登记 created", ""].map((h) => el("th", {}, h))),
      ...devices.map((d) => el("tr", {}, el("td", {}, d.code), el("td", {}, d.name), el("td", {}, checkpointLabel.get(d.checkpoint_id) || `#${d.checkpoint_id}`),
        el("td", {}, d.lanes.length ? d.lanes.join(",") : "all"), el("td", {}, d.direction || "any"),
        el("td", {}, d.kind === "snapshot" ? "抓拍 snapshot" : "智能 smart"), el("td", {}, `${d.key_prefix}…`), el("td", {}, d.active ? "启用 active" : "停用 disabled"),
        el("td", {}, formatTime(d.created_at, config.timezone)),
        el("td", {}, el("button", { class: "link", onclick: async () => {
          try { await api(`/devices/${d.id}`, { method: "PATCH", json: { active: !d.active } }); await load(); }
          catch (err) { show(err.message, true); }
        } }, d.active ? "停用 disable" : "启用 enable")))));
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const lanes = String(data.get("lanes") || "").split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    try {
      const device = await api("/devices", { json: { code: data.get("code"), name: data.get("name"),
        checkpoint: data.get("checkpoint"), lanes, direction: data.get("direction") || null,
        kind: data.get("kind") || "smart" } });
      form.reset();
      show(`已登记 registered ${device.code}`);
      keyBox.hidden = false;
      keyBox.replaceChildren("API 密钥（仅显示一次）key, shown once: ", el("code", { id: "device-key" }, device.api_key));
      await load();
    } catch (err) { show(err.message, true); }
  });
  await load();
}

export async function render(root, { user, config }) {
  await renderPasses(root, config);
  if (user.roles.includes("admin")) await renderDevices(root, config);
}
