// Search-as-you-type pickers for checkpoints, areas and districts: type part of a code or a name, choose
// from the list; chosen items show as chips with their code and name. People never type numeric ids.
import { api, el } from "./api.js";

const STYLE = `
.picker { display: flex; flex-direction: column; gap: 3px; }
.picker .chips { display: flex; flex-wrap: wrap; gap: 4px; }
.picker .chip { background: #e3ecfb; color: #0b3d91; border-radius: 10px; padding: 1px 4px 1px 8px; font-size: 12px; }
.picker .chip button { background: transparent; color: #0b3d91; padding: 0 4px; }
.picker .unknown { color: #b00020; font-size: 12px; }
`;
let styled = false;
let counter = 0;
const cache = {};

// [{ value, id, label }] of every checkpoint: value is the code, label "code name (district)".
export async function checkpointChoices() {
  cache.checkpoints ||= api("/checkpoints").then((fc) => fc.features.map((f) => ({
    value: f.properties.code, id: f.properties.id, label: `${f.properties.code} ${f.properties.name}`,
    hint: f.properties.district_name })));
  return cache.checkpoints;
}

// Areas of one kind (district, centre) or all: value is the area code, label "code name".
export async function areaChoices(kind) {
  const key = `areas-${kind || "all"}`;
  cache[key] ||= api(kind ? `/areas?kind=${kind}` : "/areas").then((fc) => fc.features.map((f) => ({
    value: f.properties.code, id: f.properties.code, label: `${f.properties.code} ${f.properties.name}`,
    hint: { city: "市 city", district: "区县 district", centre: "城区 centre" }[f.properties.kind] })));
  return cache[key];
}

// A picker over `choices`. `multiple`: chips, else one value. `.values()` gives the chosen items' `key`
// (value: codes; id: checkpoint ids); `.set(keys)` pre-selects.
export function picker(choices, { id, name, multiple = false, placeholder = "", key = "value" } = {}) {
  if (!styled) { document.head.append(el("style", {}, STYLE)); styled = true; }
  counter += 1;
  const listId = `picker-list-${counter}`;
  const byText = new Map();
  for (const choice of choices) {
    byText.set(choice.label.toLowerCase(), choice);
    byText.set(choice.value.toLowerCase(), choice);
  }
  const input = el("input", { id, name, list: listId, placeholder, autocomplete: "off", "data-picker": name || "" });
  const datalist = el("datalist", { id: listId }, choices.map((c) => el("option", { value: c.label }, c.hint || "")));
  const chips = el("div", { class: "chips" });
  const named = el("span", { class: "hint chosen" });  // a single picker keeps the code in the box, the name here
  const problem = el("div", { class: "unknown" });
  const chosen = [];
  const find = (text) => byText.get(text.trim().toLowerCase())
    || byText.get(text.trim().split(/\s+/)[0].toLowerCase());
  const drawChips = () => chips.replaceChildren(...chosen.map((c) => el("span", { class: "chip", "data-value": c.value },
    c.label, el("button", { type: "button", title: "移除 remove", onclick: () => {
      chosen.splice(chosen.indexOf(c), 1); drawChips();
    } }, "×"))));
  const take = () => {
    if (!input.value.trim()) { problem.textContent = ""; return; }
    const choice = find(input.value);
    if (!choice) { problem.textContent = `没有“${input.value.trim()}”，请从列表中选择 choose from the list`; return; }
    problem.textContent = "";
    if (multiple) {
      if (!chosen.includes(choice)) chosen.push(choice);
      input.value = "";
      drawChips();
    } else {
      chosen.splice(0, chosen.length, choice);
      input.value = choice.value;
      named.textContent = choice.label;
    }
  };
  input.addEventListener("change", take);
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); take(); } });
  const node = el("div", { class: "picker" }, input, datalist, multiple ? chips : named, problem);
  node.values = () => {
    if (!multiple) {
      if (!input.value.trim()) return [];
      const choice = find(input.value);
      return choice ? [choice[key]] : [input.value.trim()];  // unknown text: the server says why
    }
    return chosen.map((c) => c[key]);
  };
  node.set = (keys) => {
    const wanted = keys.map(String);
    const found = choices.filter((c) => wanted.includes(String(c[key])));
    if (multiple) { chosen.splice(0, chosen.length, ...found); drawChips(); } else {
      input.value = found[0]?.value || "";
      named.textContent = found[0]?.label || "";
    }
  };
  node.clear = () => { chosen.splice(0); input.value = ""; named.textContent = ""; drawChips(); };
  return node;
}
