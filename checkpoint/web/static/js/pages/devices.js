// 设备 Devices for admins: 在线率/完好率 against the plan over any window, outages still open, every camera's
// state, and the registry (add a video feed, import or export the whole registry as CSV; each change audited).
import { api, el, formatTime } from "../api.js";

const KINDS = { rtsp: "RTSP 视频", http: "HTTP 视频", file: "文件视频", smart: "智能相机 JSON", snapshot: "抓拍相机",
                gat1400: "GA/T 1400" };
const STATES = { online: "在线 online", degraded: "降级 degraded", offline: "离线 offline", unknown: "未上报 never heard", failed: "故障 failed",
                 starting: "启动中 starting", stopped: "已停止 stopped", ended: "已结束 ended" };
const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);

function figure(label, value, plan, id) {
  const ok = value !== null && value >= plan;
  return el("div", { class: `figure ${value === null ? "" : ok ? "ok" : "bad"}`, id },
    el("div", { class: "label" }, label), el("div", { class: "value" }, pct(value)),
    el("div", { class: "plan" }, `计划 plan ≥ ${pct(plan)}`));
}

export async function render(root, { config }) {
  const until = el("input", { type: "datetime-local", id: "health-until" });
  const hours = el("select", { id: "health-hours" }, [1, 24, 24 * 7, 24 * 30].map((h) =>
    el("option", { value: h, selected: h === 24 ? "selected" : null }, h < 24 ? `${h} 小时 h` : `${h / 24} 天 d`)));
  const show = el("button", { id: "health-show" }, "查询 Show");
  const figures = el("div", { class: "figures", id: "health-figures" });
  const outages = el("div", { id: "health-outages" });
  const districts = el("table", { class: "grid", id: "health-districts" });
  const cameras = el("table", { class: "grid", id: "health-cameras" });
  const message = el("p", { class: "message", id: "registry-message" });
  const feedForm = el("form", { class: "inline-form", id: "feed-form" },
    el("input", { name: "checkpoint", placeholder: "卡口编号 checkpoint code", required: true, size: 16 }),
    el("input", { name: "lane", type: "number", min: 1, max: 16, value: 1, style: "width:60px" }),
    el("select", { name: "kind" }, ["rtsp", "http", "file"].map((k) => el("option", { value: k }, KINDS[k]))),
    el("input", { name: "source", placeholder: "rtsp://用户:密码@地址/通道", required: true, size: 36 }),
    el("select", { name: "rtsp_transport" }, el("option", { value: "" }, "传输 默认 default"),
      el("option", { value: "tcp" }, "TCP"), el("option", { value: "udp" }, "UDP")),
    el("button", { type: "submit" }, "添加视频源 Add feed"));
  const csvFile = el("input", { type: "file", accept: ".csv,text/csv", id: "registry-file" });
  const importButton = el("button", { id: "registry-import" }, "导入 Import CSV");
  root.append(el("section", { class: "panel" },
    el("h2", {}, "设备 Devices — 在线率 / 完好率"),
    el("p", { class: "meta" }, "在线率：设备在窗口内在线时间占比的平均；完好率：在线且读牌正常（整牌识别率达标）的设备占比。"
      + "按卡口、区县、全网统计，可查询任意历史窗口。",
      el("br"), "Online rate: mean share of the window each camera was online. Intact rate: share of cameras online "
      + "and reading whole plates on enough of their passes. Any window, not only ending now."),
    el("div", { class: "inline-form" }, el("label", {}, "截止 until ", until), hours, show),
    figures, outages, el("h3", {}, "区县 Districts"), districts, el("h3", {}, "设备 Cameras"), cameras,
    el("h3", {}, "登记 Registry"), feedForm,
    el("div", { class: "inline-form" }, csvFile, importButton,
      el("a", { href: "/api/v1/registry.csv", id: "registry-export" }, "导出全部 Export CSV")), message));

  const load = async () => {
    const end = until.value ? new Date(until.value) : new Date();
    const start = new Date(end.getTime() - Number(hours.value) * 3600e3);
    const q = `since=${encodeURIComponent(start.toISOString())}&until=${encodeURIComponent(end.toISOString())}`;
    const h = await api(`/devices/health?${q}`);
    figures.replaceChildren(
      figure("全网在线率 network online rate", h.network.online_rate, h.plan.online_rate, "figure-online"),
      figure("全网完好率 network intact rate", h.network.intact_rate, h.plan.intact_rate, "figure-intact"),
      el("div", { class: "figure" }, el("div", { class: "label" }, "设备数 cameras"),
        el("div", { class: "value" }, h.network.cameras),
        el("div", { class: "plan" }, `${formatTime(h.since, config.timezone)} — ${formatTime(h.until, config.timezone)}`)));
    outages.replaceChildren(...(h.outages.length
      ? [el("h3", { class: "error" }, `⚠ 离线告警 Outages (${h.outages.length})`),
         el("ul", { class: "outages" }, h.outages.map((o) => el("li", { class: "error", "data-camera": o.camera },
           `${o.checkpoint_code} ${KINDS[o.kind] || o.kind} ${o.camera.replace(/^device:/, "")}`
           + ` 自 since ${formatTime(o.started_at, config.timezone)} 无数据`)))]
      : [el("p", { class: "message" }, `无离线告警 No outages (silent > ${h.plan.outage_after_s} s raises one)`)]));
    districts.replaceChildren(el("tr", {}, ["区县 district", "设备 cameras", "在线率 online", "完好率 intact"]
      .map((t) => el("th", {}, t))),
      ...Object.entries(h.districts).map(([name, r]) => el("tr", {}, el("td", {}, name), el("td", {}, r.cameras),
        el("td", { class: r.online_rate >= h.plan.online_rate ? "" : "error" }, pct(r.online_rate)),
        el("td", { class: r.intact_rate >= h.plan.intact_rate ? "" : "error" }, pct(r.intact_rate)))));
    cameras.replaceChildren(el("tr", {}, ["卡口 checkpoint", "类型 kind", "设备 camera", "状态 state", "最后上报 last seen",
      "过车 passes", "读牌率 read", "在线率 online", "完好 intact", "最近错误 last error"].map((t) => el("th", {}, t))),
      ...h.cameras.map((c) => el("tr", { "data-camera": c.key },
        el("td", {}, c.checkpoint_code), el("td", {}, KINDS[c.kind] || c.kind), el("td", {}, c.name),
        el("td", {}, el("span", { class: `state ${c.state}` }, STATES[c.state] || c.state)),
        el("td", {}, formatTime(c.last_seen, config.timezone)), el("td", {}, c.passes), el("td", {}, pct(c.read_share)),
        el("td", {}, pct(c.online_rate)), el("td", {}, c.intact ? "✓" : el("span", { class: "error" }, "✗")),
        el("td", { class: "detail" }, c.last_error))));
  };
  show.addEventListener("click", () => load().catch((err) => { message.className = "error"; message.textContent = err.message; }));
  feedForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(feedForm));
    try {
      const feed = await api("/feeds", { json: { ...data, lane: Number(data.lane), rtsp_transport: data.rtsp_transport || null } });
      message.className = "message";
      message.textContent = `已添加 added ${feed.checkpoint_code} 车道${feed.lane} ${feed.source}（采集数秒内启动 capture starts it within seconds）`;
      await load();
    } catch (err) { message.className = "error"; message.textContent = err.message; }
  });
  importButton.addEventListener("click", async () => {
    if (!csvFile.files.length) return;
    try {
      const result = await api("/registry/import", { method: "POST", headers: { "Content-Type": "text/csv" },
                                                     body: await csvFile.files[0].arrayBuffer() });
      message.className = result.errors.length ? "error" : "message";
      message.replaceChildren(`新增 added ${result.added}，修改 changed ${result.changed}，未变 unchanged ${result.unchanged}`,
        ...result.errors.map((e) => el("div", {}, `第 ${e.line} 行 line ${e.line}: ${e.reason}`)));
      await load();
    } catch (err) { message.className = "error"; message.textContent = err.message; }
  });
  await load();
  setInterval(() => load().catch(() => {}), 30000);
}
