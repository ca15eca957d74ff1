// 布控 Watchlist for officers: register a watch (with a 30-day preview), list, approve, reject, withdraw.
// Approval is for an approver (审批人), never the requester; withdrawal is asked for, then an approver approves it.
// A change is committed before it is in force: while the index cannot be updated (Redis unreachable) the
// page says so, from the change's answer (`in_force`) and from /watchlist/index-status, polled every 5 s.
import { api, el, formatTime } from "../api.js";
import { areaChoices, checkpointChoices, picker } from "../pickers.js";

const STYLE = `
.wl-grid { display: grid; grid-template-columns: 420px 1fr; gap: 0; height: 100%; }
.wl-grid .panel { margin: 12px; }
.wl-form label { display: flex; flex-direction: column; font-size: 12px; color: #5a6b85; margin-bottom: 6px; }
.wl-form input, .wl-form select, .wl-form textarea { padding: 6px; font-size: 14px; }
.wl-form .row { display: flex; gap: 8px; } .wl-form .row > * { flex: 1; }
.wl-status { padding: 1px 6px; border-radius: 3px; font-size: 12px; background: #e3e7ee; }
.wl-status.active { background: #d7f0de; color: #1b7a3a; } .wl-status.pending { background: #fff1cc; color: #8a5a00; }
.wl-status.withdrawn, .wl-status.expired, .wl-status.rejected { background: #eee; color: #777; }
.wl-actions button { margin: 0 4px 4px 0; padding: 3px 8px; font-size: 12px; }
.wl-actions button.danger { background: #b00020; }
.wl-index { margin: 0 0 8px; padding: 6px 10px; border-radius: 3px; font-size: 13px; }
.wl-index.pending { background: #fff1cc; color: #8a5a00; border: 1px solid #e0b84c; }
.wl-index.ok { background: #eef6f0; color: #1b7a3a; }
`;
const INDEX_POLL_MS = 5000;

const CATEGORIES = { stolen: "被盗抢 stolen", case_related: "涉案 case-related", cloned_plate: "套牌 cloned plate",
  fugitive: "在逃 fugitive", unlicensed: "无牌/假牌 unlicensed", traffic_violation: "违法未处理 violations", other: "其他 other" };
const MODES = { exact: "精确 exact", wildcard: "通配 wildcard (? *)", fuzzy: "容错 fuzzy (认错/缺字/多字)" };
// The rules as plates.py applies them (parse_pattern, fuzzy_explain, MAX_CONFUSIONS): keep the two in step.
const MODE_HELP = {
  exact: "精确：输入完整车牌，如 粤L12345。Exact: the whole plate.",
  wildcard: "通配：“?”代表一个字符，“*”代表任意个字符，至少 4 个已知字符，如 粤L?23*。Wildcard: ? one character, * any run.",
  fuzzy: "容错：容许识别混淆 0/D/Q/U、8/B、2/Z/7、5/S、6/G、1/T、4/A。严：1 处混淆；中：2 处混淆，或缺/多 1 个字符再加 1 处混淆"
    + "（可输入少一位的车牌，如 粤LT246）；宽：3 处混淆，可缺/多 1 个字符。Fuzzy: misreads; normal and loose forgive one missing or extra character.",
};

function field(label, input) { return el("label", {}, label, input); }
function select(name, options, value) {
  return el("select", { name }, Object.entries(options).map(([key, text]) =>
    el("option", { value: key, selected: key === value ? "selected" : null }, text)));
}

export async function render(root, { user, config }) {
  document.head.append(el("style", {}, STYLE));
  const supervisor = user.roles.includes("approver");
  const message = el("p", { id: "watch-message" });
  const [checkpoints, districts] = await Promise.all([checkpointChoices(), areaChoices("district")]);
  const checkpointLabel = new Map(checkpoints.map((c) => [c.id, c.label]));
  const districtLabel = new Map(districts.map((d) => [d.value, d.label]));
  const checkpointPicker = picker(checkpoints, { id: "scope-checkpoints", name: "scope_checkpoints", multiple: true, key: "id",
    placeholder: "如 HZ-441302 或 惠城" });
  const districtPicker = picker(districts, { id: "scope-districts", name: "scope_districts", multiple: true,
    placeholder: "如 惠城 或 441302" });
  const modeHelp = el("p", { class: "hint", id: "watch-mode-help" }, MODE_HELP.exact);
  const previewTable = el("table", { class: "grid", id: "watch-preview" });
  const form = el("form", { class: "wl-form", id: "watch-form" },
    field("号牌 Plate pattern", el("input", { name: "pattern", id: "watch-pattern", required: "required", placeholder: "粤L12345 / 粤L?23*" })),
    el("div", { class: "row" },
      field("匹配 Match", select("match_mode", MODES, "exact")),
      field("容错 Strictness", select("strictness", { strict: "严 strict", normal: "中 normal", loose: "宽 loose" }, "normal"))),
    modeHelp,
    el("div", { class: "row" },
      field("类别 Category", select("category", CATEGORIES, "stolen")),
      field("颜色 Colour", select("plate_colour", { "": "任意 any", blue: "蓝 blue", yellow: "黄 yellow", green: "绿 green", white: "白 white", black: "黑 black" }, ""))),
    field("事由 Reason", el("textarea", { name: "reason", id: "watch-reason", required: "required", rows: 2 })),
    el("div", { class: "row" },
      field("案件编号 Case no.", el("input", { name: "case_number" })),
      field("优先级 Priority", select("priority", { 1: "1 高 high", 2: "2 中 normal", 3: "3 低 low" }, "2"))),
    field("范围 Scope", select("scope_kind", { network: "全网 whole network", districts: "辖区 districts", checkpoints: "卡口 checkpoints" }, "network")),
    el("label", { id: "scope-districts-field", hidden: true }, "辖区 Districts（输入名称或编号搜索 type to search）", districtPicker),
    el("label", { id: "scope-checkpoints-field", hidden: true }, "卡口 Checkpoints（输入编号或名称搜索 type to search）", checkpointPicker),
    field("截止 Valid to (default 30 days)", el("input", { name: "valid_to", type: "datetime-local" })),
    el("div", { class: "row" },
      el("button", { type: "button", id: "watch-preview-button" }, "预览 Preview 30 days"),
      el("button", { type: "submit", id: "watch-submit" }, "提交审批 Submit for approval")),
    message);
  const decision = el("input", { id: "decision-reason", placeholder: "审批/撤控理由 Reason for approval or withdrawal", size: 50 });
  const list = el("table", { class: "grid", id: "watch-table" });
  const indexNotice = el("p", { id: "watch-index-notice", class: "wl-index ok" }, "");
  root.append(el("div", { class: "wl-grid" },
    el("section", { class: "panel" }, el("h2", {}, "登记布控 Register a watch"), form,
      el("h3", {}, "近 30 天命中预览 Passes it would have matched"), previewTable),
    el("section", { class: "panel" }, el("h2", {}, "布控列表 Watches"), indexNotice,
      el("p", {}, decision, supervisor ? null : el("span", { class: "hint" }, " 审批与撤控由另一位审批人批准 (four eyes: an approver decides).")),
      list)));

  const body = () => {
    const data = Object.fromEntries(new FormData(form));
    const out = { pattern: data.pattern, match_mode: data.match_mode, strictness: data.strictness,
      plate_colour: data.plate_colour || null, category: data.category, reason: data.reason,
      case_number: data.case_number || null, priority: Number(data.priority), scope_kind: data.scope_kind };
    if (data.scope_kind === "districts") out.scope_districts = districtPicker.values();
    if (data.scope_kind === "checkpoints") out.scope_checkpoint_ids = checkpointPicker.values();
    if (data.valid_to) out.valid_to = new Date(data.valid_to).toISOString();
    return out;
  };
  const showScope = () => {
    const kind = form.elements.scope_kind.value;
    document.getElementById("scope-districts-field").hidden = kind !== "districts";
    document.getElementById("scope-checkpoints-field").hidden = kind !== "checkpoints";
  };
  form.elements.scope_kind.addEventListener("change", showScope);
  form.elements.match_mode.addEventListener("change", () => { modeHelp.textContent = MODE_HELP[form.elements.match_mode.value]; });
  const scopeText = (w) => (w.scope_kind === "districts" ? w.scope_districts.map((d) => districtLabel.get(d) || d).join("、")
    : w.scope_kind === "checkpoints" ? w.scope_checkpoint_ids.map((id) => checkpointLabel.get(id) || `#${id}`).join("、") : "全网 network");
  const say = (text, ok) => { message.textContent = text; message.className = ok ? "message" : "error"; };

  document.getElementById("watch-preview-button").addEventListener("click", async () => {
    try {
      const b = body();
      const result = await api("/watchlist/preview", { json: { pattern: b.pattern, match_mode: b.match_mode, strictness: b.strictness, plate_colour: b.plate_colour, reason: b.reason } });
      previewTable.replaceChildren(el("caption", {}, `${result.matched} 次 passes`),
        el("tr", {}, ["时间 time", "号牌 plate", "卡口 checkpoint", "原因 why"].map((h) => el("th", {}, h))),
        ...result.passes.map((p) => el("tr", {}, el("td", {}, formatTime(p.captured_at, config.timezone)),
          el("td", {}, p.plate), el("td", {}, checkpointLabel.get(p.checkpoint_id) || `#${p.checkpoint_id}`), el("td", {}, p.why))));
    } catch (err) { say(err.message, false); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const watch = await api("/watchlist/watches", { json: body() });
      say(`已提交 submitted: #${watch.id} ${watch.pattern} (${watch.status})`, true);
      await load();
    } catch (err) { say(err.message, false); }
  });

  const showIndex = (status) => {
    if (status.in_force) {
      const behind = status.matchers.filter((m) => !m.current).length;
      indexNotice.className = "wl-index ok";
      indexNotice.textContent = `索引已同步 Index in force: 版本 version ${status.database_version}` +
        ` · 比对进程 matchers ${status.matchers.length}` + (behind ? `（${behind} 个待下一批次同步 catch up at their next batch）` : "");
    } else {
      indexNotice.className = "wl-index pending";
      indexNotice.textContent = `${status.notice} · 数据库版本 database v${status.database_version}` +
        ` · Redis 索引版本 index v${status.redis_version ?? "—"}`;
    }
  };
  const pollIndex = async () => {
    try { showIndex(await api("/watchlist/index-status")); } catch { /* the next poll tries again */ }
  };
  const timer = setInterval(() => {
    if (!document.body.contains(indexNotice)) { clearInterval(timer); return; }
    pollIndex();
  }, INDEX_POLL_MS);

  const act = async (watch, step) => {
    try {
      const changed = await api(`/watchlist/watches/${watch.id}/${step}`, { json: { reason: decision.value || "" } });
      if (changed && changed.in_force === false) {
        message.textContent = `#${changed.id} ${changed.notice || "布控已保存，索引同步中"}`;
        message.className = "wl-index pending";
        indexNotice.className = "wl-index pending";
        indexNotice.textContent = changed.notice || "布控已保存，索引同步中";
      } else if (changed && changed.in_force) {
        say(`#${changed.id} ${step === "approve" ? "已批准，已生效 approved, in force" : "已撤控，已生效 withdrawn, in force"}`, true);
      } else if (step === "withdraw-request") {
        say(`#${watch.id} 已申请撤控，待审批人批准 withdrawal asked for: an approver decides`, true);
      }
      await Promise.all([load(), pollIndex()]);
    } catch (err) { say(err.message, false); }
  };
  const actions = (w) => {
    const mine = w.requested_by === user.id;
    const buttons = [];
    if (w.status === "draft" && mine) buttons.push(el("button", { onclick: () => act(w, "submit") }, "提交 submit"));
    if (supervisor && !mine && w.status === "pending") {
      buttons.push(el("button", { class: "approve", "data-watch": w.id, onclick: () => act(w, "approve") }, "批准 approve"));
      buttons.push(el("button", { class: "danger", onclick: () => act(w, "reject") }, "驳回 reject"));
    }
    if (w.status === "active" && !w.withdraw_requested_by) {
      buttons.push(el("button", { class: "withdraw-request", "data-watch": w.id, onclick: () => act(w, "withdraw-request") }, "申请撤控 ask to withdraw"));
    }
    if (supervisor && !mine && w.status === "active" && w.withdraw_requested_by && w.withdraw_requested_by !== user.id) {
      buttons.push(el("button", { class: "danger withdraw", "data-watch": w.id, onclick: () => act(w, "withdraw") }, "批准撤控 approve withdrawal"));
    }
    return el("td", { class: "wl-actions" }, buttons);
  };
  const load = async () => {
    const watches = await api("/watchlist/watches");
    list.replaceChildren(el("tr", {}, ["#", "号牌 pattern", "匹配 mode", "范围 scope", "类别 category", "事由 reason", "状态 status", "有效期 valid", ""].map((h) => el("th", {}, h))),
      ...watches.map((w) => el("tr", { "data-watch": w.id, "data-pattern": w.pattern, "data-status": w.status },
        el("td", {}, w.id), el("td", { class: "pattern" }, w.pattern), el("td", {}, MODES[w.match_mode] || w.match_mode),
        el("td", { class: "scope" }, scopeText(w)),
        el("td", {}, CATEGORIES[w.category] || w.category), el("td", {}, w.reason),
        el("td", {}, el("span", { class: `wl-status ${w.status}` }, w.status)),
        el("td", {}, `${formatTime(w.valid_from, config.timezone)} – ${formatTime(w.valid_to, config.timezone)}`),
        actions(w))));
  };
  await Promise.all([load(), pollIndex()]);
}
