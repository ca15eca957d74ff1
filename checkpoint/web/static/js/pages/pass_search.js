// 过车查询 Pass search: stored passes by time, place, plate pattern and vehicle, paged, with images,
// a link to each plate's trajectory and a CSV export. Every search states a reason (audited).
import { api, el, formatTime } from "../api.js";
import { zonedInput, zonedIso } from "./trajectory.js";

const STYLE_ID = "pass-search-style";
const STYLE = `
#search-form { display: grid; grid-template-columns: repeat(6, minmax(150px, 1fr)); gap: 8px 12px; align-items: end; }
#search-form label { display: flex; flex-direction: column; font-size: 12px; color: #5a6b85; gap: 2px; }
#search-form input, #search-form select { padding: 5px; font-size: 13px; }
#search-form .wide { grid-column: span 2; } #search-form .full { grid-column: 1 / -1; }
.chips { display: flex; flex-wrap: wrap; gap: 4px; min-height: 26px; }
.chip { background: #e6eefc; border: 1px solid #b8c9ec; border-radius: 12px; padding: 1px 8px; font-size: 12px; }
.chip button { background: none; color: #5a6b85; padding: 0 0 0 4px; }
.search-actions { display: flex; gap: 8px; align-items: center; }
.search-actions a.button { background: #2a7d4f; color: #fff; padding: 6px 12px; border-radius: 4px; text-decoration: none; }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 8px; }
.hint { font-size: 12px; color: #5a6b85; }
.pager button:disabled { background: #aab4c3; cursor: default; }
`;
const PLATE_COLOURS = { blue: "蓝 blue", yellow: "黄 yellow", green: "绿 green", white: "白 white", black: "黑 black", unknown: "未知 unknown" };
const PLATE_BADGE = { blue: ["#1f5fbf", "#fff"], yellow: ["#e0b000", "#111"], green: ["#2e9d4f", "#111"], white: ["#f2f2f2", "#111"], black: ["#222", "#fff"] };
const PLATE_TYPES = { standard: "小型汽车 standard", large: "大型汽车 large", new_energy: "新能源 new energy", police: "警用 police",
  emergency: "应急 emergency", coach: "教练 coach", trailer: "挂车 trailer", hong_kong: "港 Hong Kong", macau: "澳 Macau" };
const VEHICLE_COLOURS = { white: "白", grey: "灰", silver: "银", black: "黑", red: "红", blue: "蓝", yellow: "黄", green: "绿",
  brown: "棕", pink: "粉", purple: "紫", orange: "橙", other: "其他" };
const VEHICLE_TYPES = { car: "轿车", suv: "SUV", mpv: "MPV", van: "面包车", bus: "客车", truck: "货车", motorbike: "摩托车",
  pickup: "皮卡", other: "其他" };
const DIRECTIONS = { in: "进 in", out: "出 out" };
const PAGE_SIZE = 50;

function select(name, label, options, blank = "全部 any") {
  return el("label", {}, label, el("select", { name, id: `search-${name.replace("_", "-")}` },
    el("option", { value: "" }, blank), ...Object.entries(options).map(([value, text]) => el("option", { value }, text))));
}

function plateBadge(hit) {
  const [bg, fg] = PLATE_BADGE[hit.plate_colour] || ["#999", "#fff"];
  return el("span", { class: "plate", style: `display:inline-block;padding:1px 6px;border-radius:3px;font-weight:700;` +
    `letter-spacing:1px;background:${bg};color:${fg};border:1px solid #555` }, hit.plate);
}

// Places: one search-as-you-type box over districts, areas and checkpoints; each choice becomes a chip.
async function placePicker() {
  const [checkpoints, areas] = await Promise.all([api("/checkpoints"), api("/areas")]);
  const choices = new Map();
  const districts = new Map();
  for (const f of checkpoints.features) districts.set(f.properties.district, f.properties.district_name);
  for (const [code, name] of [...districts].sort()) choices.set(`区县 ${name} (${code})`, { kind: "district", code, name });
  for (const f of areas.features.filter((a) => a.properties.kind !== "district")) {
    choices.set(`区域 ${f.properties.name} (${f.properties.code})`, { kind: "area", code: f.properties.code, name: f.properties.name });
  }
  for (const f of checkpoints.features) {
    const p = f.properties;
    choices.set(`卡口 ${p.code} ${p.name}`, { kind: "checkpoint", code: p.code, name: `${p.code} ${p.name}` });
  }
  const picked = new Map();
  const chips = el("div", { class: "chips", id: "search-places" });
  const input = el("input", { list: "search-place-options", id: "search-place", autocomplete: "off",
                              placeholder: "输入卡口编号、名称、区县或区域 type a checkpoint, district or area" });
  const list = el("datalist", { id: "search-place-options" }, ...[...choices.keys()].map((label) => el("option", { value: label })));
  const draw = () => chips.replaceChildren(...[...picked.values()].map((c) => el("span", { class: "chip", "data-code": c.code },
    `${{ district: "区县", area: "区域", checkpoint: "卡口" }[c.kind]} ${c.name}`,
    el("button", { type: "button", title: "移除 remove", onclick: () => { picked.delete(`${c.kind}:${c.code}`); draw(); } }, "×"))));
  input.addEventListener("change", () => {
    const choice = choices.get(input.value);
    if (!choice) return;
    picked.set(`${choice.kind}:${choice.code}`, choice);
    input.value = "";
    draw();
  });
  draw();
  const label = el("label", { class: "wide" }, "地点 Places（不选为全市 whole network）", input, list);
  return { label, chips, params: () => [...picked.values()].map((c) => [c.kind, c.code]) };
}

export async function render(root, { config }) {
  if (!document.getElementById(STYLE_ID)) document.head.append(el("style", { id: STYLE_ID }, STYLE));
  const places = await placePicker();
  const now = Date.now();
  const midnight = zonedIso(`${zonedInput(now, config.timezone).slice(0, 10)}T00:00`, config.timezone);
  const form = el("form", { id: "search-form" },
    el("label", {}, "开始 From", el("input", { type: "datetime-local", name: "start", id: "search-start", required: true,
                                              value: zonedInput(Date.parse(midnight), config.timezone) })),
    el("label", {}, "结束 To", el("input", { type: "datetime-local", name: "end", id: "search-end", required: true,
                                            value: zonedInput(now + 60000, config.timezone) })),
    places.label,
    select("direction", "方向 Direction", DIRECTIONS),
    select("sort", "排序 Sort", { time_asc: "时间正序 oldest first", plate: "号牌 plate" }, "时间倒序 newest first"),
    el("label", {}, "号牌 Plate", el("input", { name: "plate", id: "search-plate", maxlength: 16, placeholder: "粤L12345 / 粤L?23*" })),
    select("plate_mode", "号牌匹配 Match", { wildcard: "通配 wildcard（? 一位, * 任意）", fuzzy: "近似 fuzzy（误识）" }, "精确 exact"),
    select("strictness", "近似程度 Fuzziness", { strict: "一处误识 one misread", loose: "宽松 loose" }, "两处误识或多/少一位 normal"),
    select("plate_colour", "号牌颜色 Plate colour", PLATE_COLOURS),
    select("plate_type", "号牌种类 Plate type", PLATE_TYPES),
    select("vehicle_colour", "车身颜色 Vehicle colour", VEHICLE_COLOURS),
    select("vehicle_type", "车辆类型 Vehicle type", VEHICLE_TYPES),
    el("label", {}, "品牌 Brand", el("input", { name: "vehicle_brand", id: "search-brand", maxlength: 32, placeholder: "如 比亚迪" })),
    el("label", { class: "wide" }, "查询事由 Reason（必填，记入审计 audited）",
       el("input", { name: "reason", id: "search-reason", required: true, minlength: 4, placeholder: "案件编号 / 事由 case number or reason" })),
    el("div", { class: "full" }, places.chips),
    el("div", { class: "search-actions full" },
      el("button", { type: "submit", id: "search-button" }, "查询 Search"),
      el("a", { class: "button", id: "search-export", hidden: true, download: "" }, "导出 CSV Export"),
      el("span", { class: "hint" }, "通配: ? 代表一位, * 代表任意位, 至少 4 个已知字符; 导出最多 100,000 条")));
  const status = el("p", { id: "search-status", role: "status" });
  const table = el("table", { class: "grid", id: "search-results" });
  const pager = el("div", { class: "pager", id: "search-pager" });
  root.append(el("section", { class: "panel" }, el("h2", {}, "过车查询 Pass search"), form, status, table, pager));

  const exportLink = document.getElementById("search-export");
  const query = () => {
    const data = Object.fromEntries(new FormData(form));
    const params = new URLSearchParams({ start: zonedIso(data.start, config.timezone), end: zonedIso(data.end, config.timezone),
                                         reason: data.reason.trim() });
    for (const key of ["direction", "sort", "plate", "plate_mode", "strictness", "plate_colour", "plate_type",
                       "vehicle_colour", "vehicle_type", "vehicle_brand"]) {
      if (data[key] && data[key].trim()) params.set(key, data[key].trim());
    }
    for (const [kind, code] of places.params()) params.append(kind, code);
    return params;
  };
  const show = async (params, page) => {
    params.set("page", String(page));
    params.set("page_size", String(PAGE_SIZE));
    status.className = ""; status.textContent = "查询中 Searching…";
    try {
      const found = await api(`/passes/search?${params}`);
      const total = found.total_exact ? found.total.toLocaleString("zh-CN") : `超过 more than ${found.total.toLocaleString("zh-CN")}`;
      status.textContent = `共 ${total} 条过车 passes` +
        (found.plates ? `；匹配号牌 plates: ${found.plates.slice(0, 12).join("、")}${found.plates.length > 12 ? ` 等 ${found.plates.length} 个` : ""}` : "");
      const exportParams = new URLSearchParams(params); exportParams.delete("page"); exportParams.delete("page_size");
      exportLink.href = `/api/v1/passes/search/export?${exportParams}`;
      exportLink.hidden = found.total === 0;
      drawTable(found, params, config);
      drawPager(found, params);
    } catch (err) {
      status.className = "error"; status.textContent = err.message;
      table.replaceChildren(); pager.replaceChildren(); exportLink.hidden = true;
    }
  };
  const drawTable = (found, params, cfg) => {
    const trajectory = (hit) => {
      const link = new URLSearchParams({ plate: hit.plate, start: params.get("start"), end: params.get("end") });
      return el("a", { href: `/console/trajectory?${link}`, class: "trajectory-link" }, "轨迹 trajectory");
    };
    table.replaceChildren(el("tr", {}, ["时间 time", "号牌 plate", "号牌图 crop", "卡口 checkpoint", "区县 district", "方向 dir.",
      "号牌种类 type", "车身颜色 colour", "车型 vehicle", "品牌 brand", ""].map((h) => el("th", {}, h))),
      ...found.items.map((hit) => el("tr", { "data-pass-id": hit.id },
        el("td", {}, formatTime(hit.captured_at, cfg.timezone)), el("td", {}, plateBadge(hit)),
        el("td", {}, hit.has_plate || hit.has_scene ? el("a", { href: `/api/v1/passes/${hit.id}/images/${hit.has_scene ? "scene" : "plate"}`, target: "_blank" },
          el("img", { src: `/api/v1/passes/${hit.id}/images/${hit.has_plate ? "plate" : "scene"}`, alt: hit.plate, loading: "lazy",
                      class: "search-thumb", style: "height:28px;max-width:110px;border:1px solid #ccc" })) : "—"),
        el("td", {}, `${hit.checkpoint_code} ${hit.checkpoint_name}`), el("td", {}, hit.district_name),
        el("td", {}, DIRECTIONS[hit.direction] || ""), el("td", {}, PLATE_TYPES[hit.plate_type] || "未知 unknown"),
        el("td", {}, VEHICLE_COLOURS[hit.vehicle_colour] || ""), el("td", {}, VEHICLE_TYPES[hit.vehicle_type] || ""),
        el("td", {}, hit.vehicle_brand || ""), el("td", {}, trajectory(hit)))));
  };
  const drawPager = (found, params) => {
    const pages = Math.max(1, Math.ceil(found.total / found.page_size));
    const go = (page) => show(new URLSearchParams(params), page);
    pager.replaceChildren(
      el("button", { type: "button", id: "search-prev", disabled: found.page <= 1 ? "disabled" : null, onclick: () => go(found.page - 1) }, "上一页 Prev"),
      el("span", { id: "search-page" }, `第 ${found.page} / ${found.total_exact ? pages : `${pages}+`} 页`),
      el("button", { type: "button", id: "search-next", disabled: found.page >= pages ? "disabled" : null, onclick: () => go(found.page + 1) }, "下一页 Next"));
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); show(query(), 1); });
}
