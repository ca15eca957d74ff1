// 研判 Analyses: the standard checkpoint analyses, each with its parameters, a stated reason and a result table;
// each result opens the plate's trajectory over the analysed window.
import { api, el, formatTime } from "../api.js";
import { areaChoices, checkpointChoices, picker } from "../pickers.js";
import { addStyle, zonedInput, zonedIso } from "./trajectory.js";

const time = (config) => (iso) => formatTime(iso, config.timezone);
const COLOUR = { blue: "蓝", yellow: "黄", green: "绿", white: "白", black: "黑", unknown: "未知" };
const checkpointNames = new Map();  // code -> name, filled at render: results name checkpoints by code + name
const checkpointText = (code, name) => `${code} ${name || checkpointNames.get(code) || ""}`.trim();
const passCell = (config) => (p) => `${time(config)(p.captured_at)} ${checkpointText(p.checkpoint_code, p.checkpoint_name)} ${COLOUR[p.plate_colour] || p.plate_colour || ""}牌`;
// Numbers for people: durations in 秒/分/小时/天, shares in per cent, never raw floats.
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(Number(seconds));
  if (s < 60) return `${s} 秒`;
  if (s < 3600) return `${Math.floor(s / 60)} 分 ${s % 60 ? `${s % 60} 秒` : ""}`.trim();
  if (s < 2 * 86400) return `${Math.floor(s / 3600)} 小时 ${Math.round((s % 3600) / 60)} 分`;
  return `${Math.floor(s / 86400)} 天 ${Math.round((s % 86400) / 3600)} 小时`;
}
const percent = (share) => `${Math.round(Number(share) * 100)}%`;

// Each analysis: its route, extra parameters [name, label, default], and result columns [label, cell].
const ANALYSES = {
  clones: { title: "套牌 Cloned plates", days: 7,
    params: [["max_speed_kmh", "最高车速 km/h", "160"], ["same_time_s", "同时 s", "300"]],
    columns: (c) => [["号牌 plate", (r) => r.plate], ["类型 kind", (r) => r.kind], ["前 first", (r) => passCell(c)(r.first)],
      ["后 second", (r) => passCell(c)(r.second)], ["距离 km", (r) => (r.distance_m / 1000).toFixed(1)],
      ["用时 took", (r) => duration(r.duration_s)], ["至少需 needs", (r) => duration(r.needed_s)]] },
  companions: { title: "同行 Companions", days: 7,
    params: [["plate", "目标号牌 target plate", ""], ["window_s", "前后 ±s", "60"], ["min_times", "至少次数 times", "3"],
      ["min_rate", "伴随率 rate", "0.3"]],
    columns: (c) => [["号牌 plate", (r) => r.plate], ["次数 times", (r) => r.times],
      ["伴随率 rate", (r) => `${Math.round(r.rate * 100)}% (${r.times}/${r.target_passes})`], ["卡口 checkpoints", (r) => r.checkpoints],
      ["首次 first", (r) => time(c)(r.first_at)], ["末次 last", (r) => time(c)(r.last_at)]] },
  "first-entry": { title: "初次入城 First entry", days: 1,
    params: [["lookback_days", "回溯天数 lookback days", "30"]],
    columns: (c) => [["号牌 plate", (r) => r.plate], ["首次 first", (r) => time(c)(r.first_at)], ["过车 passes", (r) => r.passes]] },
  "night-active": { title: "昼伏夜出 Night-active", days: 30,
    params: [["min_share", "夜间占比 night share", "0.8"], ["min_days", "至少夜数 nights", "5"]],
    columns: () => [["号牌 plate", (r) => r.plate], ["过车 passes", (r) => r.passes], ["夜间 night", (r) => r.night_passes],
      ["占比 share", (r) => percent(r.night_share)], ["夜数 nights", (r) => r.night_days]] },
  "resting-places": { title: "落脚点 Resting places", days: 30,
    params: [["plate", "号牌 plate", ""], ["min_times", "至少次数 times", "2"]],
    columns: (c) => [["卡口 checkpoint", (r) => checkpointText(r.checkpoint_code, r.checkpoint_name)], ["次数 times", (r) => r.times],
      ["停留 rested", (r) => duration(Number(r.rest_hours) * 3600)], ["最近 last", (r) => time(c)(r.last_at)]] },
  frequent: { title: "频繁过车 Frequent passing", days: 7,
    params: [["checkpoint", "卡口 checkpoint", "", "checkpoint"], ["min_passes", "至少次数 passes", "10"]],
    columns: (c) => [["号牌 plate", (r) => r.plate], ["卡口 checkpoint", (r) => checkpointText(r.checkpoint_code, r.checkpoint_name)], ["次数 passes", (r) => r.passes],
      ["首次 first", (r) => time(c)(r.first_at)], ["末次 last", (r) => time(c)(r.last_at)]] },
  "area-collision": { title: "区域碰撞 Area-time collision", days: 1, params: [],
    columns: () => [["号牌 plate", (r) => r.plate], ["各组过车 passes per pair", (r) => r.passes.join(" / ")]] },
};

function pairFields(i, config, choices) {
  const now = Date.now();
  const area = picker(choices.areas, { id: `area${i}`, name: `area${i}`, placeholder: "区域 area：输入名称搜索" });
  const checkpoints = picker(choices.checkpoints, { id: `checkpoints${i}`, name: `checkpoints${i}`, multiple: true,
    placeholder: "或卡口 or checkpoints：输入编号或名称" });
  pickers[`area${i}`] = area;
  pickers[`checkpoints${i}`] = checkpoints;
  return el("fieldset", { class: "inline-form pair" }, el("legend", {}, `区域/时段 ${i + 1}`), area, checkpoints,
    el("input", { type: "datetime-local", name: `start${i}`, value: zonedInput(now - 864e5, config.timezone) }),
    el("input", { type: "datetime-local", name: `end${i}`, value: zonedInput(now, config.timezone) }));
}

const pickers = {};

export async function render(root, { config }) {
  addStyle();
  const [checkpointList, areaList] = await Promise.all([checkpointChoices(), areaChoices()]);
  for (const c of checkpointList) checkpointNames.set(c.value, c.label.slice(c.value.length + 1));
  const choices = { checkpoints: checkpointList, areas: areaList.filter((a) => a.hint !== "市 city") };
  const choose = el("select", { id: "analysis-kind" }, Object.entries(ANALYSES).map(([key, a]) => el("option", { value: key }, a.title)));
  const fields = el("div", { class: "inline-form" });
  const reason = el("input", { name: "reason", id: "analysis-reason", required: true, minlength: "4", placeholder: "查询事由 reason (audited)" });
  const form = el("form", { id: "analysis-form" }, el("div", { class: "inline-form" }, choose, reason,
    el("button", { type: "submit", id: "analysis-run" }, "分析 Run")), fields);
  const status = el("p", { id: "analysis-status" });
  const table = el("table", { class: "grid", id: "analysis-table" });
  root.append(el("section", { class: "panel" }, el("h2", {}, "研判分析 Analyses"), form, status, table));

  const draw = () => {
    const analysis = ANALYSES[choose.value];
    const now = Date.now();
    fields.replaceChildren();
    if (choose.value === "area-collision") { fields.append(pairFields(0, config, choices), pairFields(1, config, choices), pairFields(2, config, choices)); return; }
    fields.append(
      el("label", {}, "开始 from ", el("input", { type: "datetime-local", name: "start", value: zonedInput(now - analysis.days * 864e5, config.timezone) })),
      el("label", {}, "结束 to ", el("input", { type: "datetime-local", name: "end", value: zonedInput(now, config.timezone) })),
      ...analysis.params.map(([name, label, value, kind]) => {
        if (kind !== "checkpoint") return el("label", {}, `${label} `, el("input", { name, value, size: "10" }));
        pickers[name] = picker(choices.checkpoints, { id: `param-${name}`, name, placeholder: "输入编号或名称搜索 type to search" });
        return el("label", {}, `${label} `, pickers[name]);
      }));
  };
  choose.addEventListener("change", () => { draw(); table.replaceChildren(); status.textContent = ""; });
  draw();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const analysis = ANALYSES[choose.value];
    const data = Object.fromEntries(new FormData(form));
    status.className = ""; status.textContent = "分析中 Running…";
    const started = performance.now();
    try {
      let found;
    let window_;
      if (choose.value === "area-collision") {
        const windows = [0, 1, 2].filter((i) => pickers[`area${i}`].values().length || pickers[`checkpoints${i}`].values().length)
          .map((i) => ({ area: pickers[`area${i}`].values()[0] || null, checkpoints: pickers[`checkpoints${i}`].values(),
            start: zonedIso(data[`start${i}`], config.timezone), end: zonedIso(data[`end${i}`], config.timezone) }));
        window_ = { start: windows.map((w) => w.start).sort()[0], end: windows.map((w) => w.end).sort().pop() };
        found = await api("/analyses/area-collision", { json: { reason: data.reason, windows } });
      } else {
        const query = new URLSearchParams({ reason: data.reason, start: zonedIso(data.start, config.timezone),
                                            end: zonedIso(data.end, config.timezone) });
        for (const [name] of analysis.params) {
          const value = pickers[name] && document.body.contains(pickers[name]) ? pickers[name].values()[0] : data[name];
          if (value) query.set(name, value.trim());
        }
        window_ = { start: query.get("start"), end: query.get("end") };
        found = await api(`/analyses/${choose.value}?${query}`);
      }
      const columns = analysis.columns(config);
      status.textContent = `${found.total} 条结果 results (${((performance.now() - started) / 1000).toFixed(2)} s)` +
        (found.total > found.items.length ? `, 显示前 ${found.items.length} shown` : "");
      // Each result opens its plate's trajectory over the analysed window (the reason carried, audited again there).
      const plateOf = (row) => row.plate || data.plate;
      const trajectoryLink = (row) => {
        const plate = plateOf(row);
        if (!plate) return "";
        const link = new URLSearchParams({ plate: plate.trim(), start: window_.start, end: window_.end,
          reason: `${data.reason}（${analysis.title.split(" ")[0]}研判结果）` });
        return el("a", { href: `/console/trajectory?${link}`, class: "open-trajectory" }, "轨迹 trajectory →");
      };
      table.replaceChildren(el("tr", {}, columns.map(([label]) => el("th", {}, label)), el("th", {}, "")),
        ...found.items.map((row) => el("tr", {}, columns.map(([, cell]) => el("td", {}, String(cell(row)))),
          el("td", {}, trajectoryLink(row)))));
    } catch (err) {
      status.className = "error"; status.textContent = err.message;
      table.replaceChildren();
    }
  });
}
