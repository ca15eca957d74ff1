// The audit log for auditors: who did what, when, from where, with the reason given; filtered by time,
// user, action and target, paged back, and exported as CSV (the export is itself audited).
import { api, el, formatTime } from "../api.js";
import { zonedInput, zonedIso } from "./trajectory.js";

const PAGE = 200;
const ACTIONS = {
  "pass.": "过车查询与图片 pass search, images", "trajectory.": "轨迹 trajectory", "analysis.": "研判 analyses",
  "watch.": "布控 watches", "alert.": "预警 alerts", "auth.": "登录 log-in", "user.": "用户 users",
  "audit.": "审计导出 audit export", "checkpoint.": "卡口 checkpoints", "device.": "设备 devices",
};

export async function render(root, { config }) {
  const now = Date.now();
  const table = el("table", { class: "grid", id: "audit-table" });
  const status = el("p", { id: "audit-status", role: "status" });
  const more = el("button", { type: "button", id: "audit-more", hidden: true }, "更早 Older");
  const exportLink = el("a", { id: "audit-export", download: "", class: "button",
                               style: "background:#2a7d4f;color:#fff;padding:6px 12px;border-radius:4px;text-decoration:none" },
                        "导出 CSV Export");
  const form = el("form", { class: "inline-form", id: "audit-form" },
    el("label", {}, "开始 From ", el("input", { type: "datetime-local", name: "since", id: "audit-since",
                                                value: zonedInput(now - 7 * 864e5, config.timezone) })),
    el("label", {}, "结束 To ", el("input", { type: "datetime-local", name: "until", id: "audit-until",
                                              value: zonedInput(now + 60000, config.timezone) })),
    el("label", {}, "用户 User ", el("input", { name: "actor", id: "audit-actor", placeholder: "用户名 username", size: 24 })),
    el("label", {}, "动作 Action ", el("select", { name: "action", id: "audit-action" }, el("option", { value: "" }, "全部 every action"),
      ...Object.entries(ACTIONS).map(([value, text]) => el("option", { value }, `${text} (${value}*)`)))),
    el("label", {}, "对象 Target ", el("input", { name: "target", id: "audit-target", placeholder: "号牌 plate, watch:17", size: 18 })),
    el("button", { type: "submit", id: "audit-search" }, "查询 Search"), exportLink);
  root.append(el("section", { class: "panel" }, el("h2", {}, "审计日志 Audit log"), form, status, table, more));

  const header = el("tr", {}, ["时间 time", "用户 actor", "动作 action", "对象 target", "事由 reason", "详情 detail", "IP"]
    .map((h) => el("th", {}, h)));
  let params = new URLSearchParams();
  let shown = 0;
  const filters = () => {
    const data = Object.fromEntries(new FormData(form));
    const out = new URLSearchParams();
    if (data.since) out.set("since", zonedIso(data.since, config.timezone));
    if (data.until) out.set("until", zonedIso(data.until, config.timezone));
    for (const key of ["actor", "action", "target"]) if (data[key] && data[key].trim()) out.set(key, data[key].trim());
    return out;
  };
  const row = (r) => el("tr", { "data-id": r.id }, el("td", {}, formatTime(r.at, config.timezone)), el("td", {}, r.actor_name),
    el("td", {}, r.action), el("td", {}, r.target || ""), el("td", {}, r.reason || ""),
    el("td", { class: "detail" }, JSON.stringify(r.detail)), el("td", {}, r.client_ip || ""));
  const load = async (older) => {
    const query = new URLSearchParams(params);
    query.set("limit", String(PAGE));
    if (older) query.set("before_id", older);
    try {
      const rows = await api(`/audit?${query}`);
      if (!older) { table.replaceChildren(header); shown = 0; }
      table.append(...rows.map(row));
      shown += rows.length;
      status.className = "";
      status.textContent = `${shown.toLocaleString("zh-CN")} 条 rows${rows.length === PAGE ? "（还有更早 more below）" : ""}`;
      more.hidden = rows.length < PAGE;
      more.onclick = () => load(rows[rows.length - 1].id);
    } catch (err) {
      status.className = "error"; status.textContent = err.message;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    params = filters();
    exportLink.href = `/api/v1/audit/export?${params}`;
    load(null);
  });
  exportLink.addEventListener("click", () => { exportLink.href = `/api/v1/audit/export?${filters()}`; });
  params = filters();
  exportLink.href = `/api/v1/audit/export?${params}`;
  await load(null);
}
