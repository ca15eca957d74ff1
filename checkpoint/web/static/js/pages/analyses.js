// 研判 Analyses: the standard checkpoint analyses, each with its parameters, a stated reason and a result table.
import { api, el, formatTime } from "../api.js";
import { addStyle, zonedInput, zonedIso } from "./trajectory.js";

const time = (config) => (iso) => formatTime(iso, config.timezone);
const passCell = (config) => (p) => `${time(config)(p.captured_at)} ${p.checkpoint_code} ${p.plate_colour}/${p.plate_type} ${p.image_path || ""}`;

// Each analysis: its route, extra parameters [name, label, default], and result columns [label, cell].
const ANALYSES = {
  clones: { title: "套牌 Cloned plates", days: 7,
    params: [["max_speed_kmh", "最高车速 km/h", "160"], ["same_time_s", "同时 s", "300"]],
    columns: (c) => [["号牌 plate", (r) => r.plate], ["类型 kind", (r) => r.kind], ["前 first", (r) => passCell(c)(r.first)],
      ["后 second", (r) => passCell(c)(r.second)], ["距离 km", (r) => (r.distance_m / 1000).toFixed(1)],
      ["用时 s", (r) => r.duration_s], ["至少 s", (r) => r.needed_s ?? ""]] },
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
      ["占比 share", (r) => r.night_share], ["夜数 nights", (r) => r.night_days]] },
  "resting-places": { title: "落脚点 Resting places", days: 30,
    params: [["plate", "号牌 plate", ""], ["min_times", "至少次数 times", "2"]],
    columns: (c) => [["卡口 checkpoint", (r) => `${r.checkpoint_code} ${r.checkpoint_name}`], ["次数 times", (r) => r.times],
      ["停留 h", (r) => r.rest_hours], ["最近 last", (r) => time(c)(r.last_at)]] },
  frequent: { title: "频繁过车 Frequent passing", days: 7,
    params: [["checkpoint", "卡口编号 checkpoint", ""], ["min_passes", "至少次数 passes", "10"]],
    columns: (c) => [["号牌 plate", (r) => r.plate], ["卡口 checkpoint", (r) => r.checkpoint_code], ["次数 passes", (r) => r.passes],
      ["首次 first", (r) => time(c)(r.first_at)], ["末次 last", (r) => time(c)(r.last_at)]] },
  "area-collision": { title: "区域碰撞 Area-time collision", days: 1, params: [],
    columns: () => [["号牌 plate", (r) => r.plate], ["各组过车 passes per pair", (r) => r.passes.join(" / ")]] },
};

function pairFields(i, config) {
  const now = Date.now();
  return el("fieldset", { class: "inline-form pair" }, el("legend", {}, `区域/时段 ${i + 1}`),
    el("input", { name: `area${i}`, placeholder: "区域编号 area code" }),
    el("input", { name: `checkpoints${i}`, placeholder: "或卡口 or checkpoints HZ-…, HZ-…" }),
    el("input", { type: "datetime-local", name: `start${i}`, value: zonedInput(now - 864e5, config.timezone) }),
    el("input", { type: "datetime-local", name: `end${i}`, value: zonedInput(now, config.timezone) }));
}

export async function render(root, { config }) {
  addStyle();
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
    if (choose.value === "area-collision") { fields.append(pairFields(0, config), pairFields(1, config), pairFields(2, config)); return; }
    fields.append(
      el("label", {}, "开始 from ", el("input", { type: "datetime-local", name: "start", value: zonedInput(now - analysis.days * 864e5, config.timezone) })),
      el("label", {}, "结束 to ", el("input", { type: "datetime-local", name: "end", value: zonedInput(now, config.timezone) })),
      ...analysis.params.map(([name, label, value]) => el("label", {}, `${label} `, el("input", { name, value, size: "10" }))));
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
      if (choose.value === "area-collision") {
        const windows = [0, 1, 2].filter((i) => data[`area${i}`] || data[`checkpoints${i}`]).map((i) => ({
          area: data[`area${i}`] || null,
          checkpoints: (data[`checkpoints${i}`] || "").split(/[ ,]+/).filter(Boolean),
          start: zonedIso(data[`start${i}`], config.timezone), end: zonedIso(data[`end${i}`], config.timezone) }));
        found = await api("/analyses/area-collision", { json: { reason: data.reason, windows } });
      } else {
        const query = new URLSearchParams({ reason: data.reason, start: zonedIso(data.start, config.timezone),
                                            end: zonedIso(data.end, config.timezone) });
        for (const [name] of analysis.params) if (data[name]) query.set(name, data[name].trim());
        found = await api(`/analyses/${choose.value}?${query}`);
      }
      const columns = analysis.columns(config);
      status.textContent = `${found.total} 条结果 results (${((performance.now() - started) / 1000).toFixed(2)} s)` +
        (found.total > found.items.length ? `, 显示前 ${found.items.length} shown` : "");
      table.replaceChildren(el("tr", {}, columns.map(([label]) => el("th", {}, label))),
        ...found.items.map((row) => el("tr", {}, columns.map(([, cell]) => el("td", {}, String(cell(row)))))));
    } catch (err) {
      status.className = "error"; status.textContent = err.message;
      table.replaceChildren();
    }
  });
}
