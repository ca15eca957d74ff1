// 死信 Dead letters for admins: messages a worker gave up on (with the stream they came from and why),
// and a button to put each one back on its stream once the cause is fixed (audited).
import { api, el, formatTime } from "../api.js";

export async function render(root, { config }) {
  const table = el("table", { class: "grid", id: "dead-letter-table" });
  const message = el("p", { id: "dead-letter-message", class: "message" });
  const note = el("input", { id: "dead-letter-note", placeholder: "重放原因 why replay (audit log)", size: 40 });
  const replayAll = el("button", { id: "dead-letter-replay-all" }, "全部重放 Replay all");
  root.append(el("section", { class: "panel" },
    el("h2", {}, "死信 Dead letters"),
    el("p", { class: "meta" }, "处理失败、已移出处理队列的消息。修复原因后可重放：原字段放回原队列，由各处理程序重新处理（按原始编号去重）。",
      el("br"), "Messages a worker could not handle, parked with the reason. Replay puts the original fields back on their stream (handlers drop duplicates by id)."),
    el("div", { class: "inline-form" }, note, replayAll), message, table));

  const replay = async (path) => {
    try {
      const done = await api(path, { json: { note: note.value } });
      message.className = "message";
      message.textContent = `已重放 replayed ${done.length}: ${done.map((d) => `${d.id} → ${d.stream}`).join(", ")}`;
    } catch (err) {
      message.className = "error";
      message.textContent = err.message;
    }
    window.dispatchEvent(new Event("dead-letters-changed"));
    await load();
  };
  replayAll.addEventListener("click", () => replay("/dead-letters/replay"));

  const load = async () => {
    const rows = await api("/dead-letters?limit=500");
    replayAll.disabled = rows.length === 0;
    table.replaceChildren(
      el("tr", {}, ["时间 time", "来源队列 stream", "处理组 group", "原编号 original id", "原因 reason", "内容 fields", ""]
        .map((h) => el("th", {}, h))),
      ...(rows.length ? rows.map((r) => el("tr", { "data-dead": r.id },
        el("td", {}, formatTime(r.dead_at, config.timezone)), el("td", {}, r.stream), el("td", {}, r.group),
        el("td", {}, r.original_id), el("td", { class: "error" }, r.reason),
        el("td", { class: "detail" }, JSON.stringify(r.fields).slice(0, 300)),
        el("td", {}, el("button", { class: "replay", onclick: () => replay(`/dead-letters/${r.id}/replay`) }, "重放 Replay"))))
        : [el("tr", {}, el("td", { colspan: 7 }, "没有死信 No dead letters"))]));
  };
  await load();
}
