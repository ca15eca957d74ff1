// The audit log for auditors: who did what, when, from where, with the reason given.
import { api, el, formatTime } from "../api.js";

export async function render(root, { config }) {
  const table = el("table", { class: "grid", id: "audit-table" });
  const form = el("form", { class: "inline-form" },
    el("input", { name: "action", placeholder: "动作 action (e.g. auth.)" }),
    el("input", { name: "actor", placeholder: "用户 actor" }),
    el("button", { type: "submit" }, "查询 Search"));
  root.append(el("section", { class: "panel" }, el("h2", {}, "审计日志 Audit log"), form, table));
  const load = async () => {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
    params.set("limit", "200");
    const rows = await api(`/audit?${params}`);
    table.replaceChildren(el("tr", {}, ["时间 time", "用户 actor", "动作 action", "对象 target", "事由 reason", "详情 detail", "IP"].map((h) => el("th", {}, h))),
      ...rows.map((r) => el("tr", {}, el("td", {}, formatTime(r.at, config.timezone)), el("td", {}, r.actor_name),
        el("td", {}, r.action), el("td", {}, r.target || ""), el("td", {}, r.reason || ""),
        el("td", { class: "detail" }, JSON.stringify(r.detail)), el("td", {}, r.client_ip || ""))));
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  await load();
}
