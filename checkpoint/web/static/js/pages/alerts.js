// 预警 Alerts for dispatchers: live hits over Server-Sent Events (with a sound), the images, the map with
// the hit checkpoint and the predicted path, and one button per lifecycle step with its deadline.
import { api, el, formatTime } from "../api.js";
import { addLegend, drawAreas, drawRoads, labelCheckpoints } from "../mapcontext.js";

const STYLE = `
.al-layout { display: flex; height: 100%; }
.al-layout #alert-map { flex: 1; height: 100%; background: #f4f1ea; }
.al-list { width: 520px; overflow-y: auto; background: #fff; border-left: 1px solid #d5dbe5; padding: 8px 12px; }
.al-card { border: 1px solid #d5dbe5; border-left: 5px solid #b00020; border-radius: 4px; padding: 8px; margin-bottom: 8px; }
.al-card.closed, .al-card.false_read { border-left-color: #999; opacity: .75; }
.al-card.fresh { animation: al-flash 1s 3; }
@keyframes al-flash { 50% { background: #ffe0e0; } }
.al-card h3 { margin: 0; font-size: 18px; letter-spacing: 1px; }
.al-card .why { color: #b00020; font-weight: 600; }
.al-card .meta { color: #5a6b85; font-size: 12px; }
.al-card img { max-width: 48%; max-height: 110px; margin: 4px 4px 0 0; border: 1px solid #ccc; }
.al-card .timer { font-family: monospace; } .al-card .timer.overdue { color: #b00020; font-weight: 700; }
.al-card .steps button { margin: 4px 4px 0 0; padding: 3px 8px; font-size: 12px; }
.al-card .steps input { width: 100%; margin-top: 4px; padding: 4px; }
.al-card ol { margin: 4px 0; padding-left: 18px; font-size: 12px; }
.al-card ol li.passed { color: #8a94a6; text-decoration: line-through; }
.al-card .last-seen { font-weight: 600; color: #1f2a3d; }
.hit-label { font-weight: 600; }
#alert-connection, #alert-forwarding { font-size: 12px; color: #5a6b85; }
.al-card .image-pending { display: inline-block; margin-top: 4px; padding: 18px 10px; border: 1px dashed #c77c02; color: #c77c02; font-size: 12px; }
`;

// The lifecycle's states and steps (labels, which state each follows, notes, deadlines) come from
// GET /watchlist/alerts/lifecycle: the one table is watchlist/lifecycle.py.
const stepsAfter = (lifecycle, status) => lifecycle.steps.filter((step) => step.follows.includes(status));
const stateLabel = (lifecycle, status) => {
  const state = lifecycle.states.find((s) => s.state === status);
  return state ? `${state.label_zh} ${state.label_en}` : status;
};

function beep() {
  try {
    const audio = new (window.AudioContext || window.webkitAudioContext)();
    const tone = audio.createOscillator();
    tone.frequency.value = 880;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  } catch { /* no audio device: the card still flashes */ }
}

function countdown(dueIso) {
  if (!dueIso) return ["", false];
  const left = Math.round((new Date(dueIso) - Date.now()) / 1000);
  const abs = Math.abs(left);
  const text = `${Math.floor(abs / 3600) ? `${Math.floor(abs / 3600)} 小时 ` : ""}${Math.floor((abs % 3600) / 60)} 分 ${abs % 60} 秒`;
  return left >= 0 ? [`剩余 ${text} left`, false] : [`超时 overdue ${text}`, true];
}

// Checkpoints are named by code and name (the numeric id only when the alert predates the names).
const checkpointLabel = (code, name, id) => (code ? `${code} ${name}`.trim() : `卡口 #${id}`);
const lastCheckpoint = (a) => checkpointLabel(a.last_checkpoint_code, a.last_checkpoint_name, a.last_checkpoint_id);
const CATEGORY = { stolen: "被盗抢", case_related: "涉案", cloned_plate: "套牌", fugitive: "在逃", unlicensed: "无牌/假牌",
  traffic_violation: "交通违法", other: "其他" };
const MODE = { exact: "精确 exact", wildcard: "通配 wildcard", fuzzy: "容错 fuzzy" };
const BASIS = { observed: "按实测 observed", "road speed": "按道路限速 road speed" };
const watchesText = (a) => {
  const watches = a.watches && a.watches.length ? a.watches : [{ entry_id: a.entry_id, why: a.why }];
  return watches.map((w) => `布控 ${w.pattern || `#${w.entry_id}`}${w.category ? ` ${CATEGORY[w.category] || w.category}` : ""}`
    + `${w.match_mode ? ` · ${MODE[w.match_mode] || w.match_mode}` : ""}${w.why && w.why !== "exact" ? ` · ${w.why}` : ""}`).join("；");
};
const imagesOf = (a) => (a.last_image_path || a.last_plate_image_path
  ? [["last_scene", a.last_image_path, "最近过车 last scene"], ["last_plate", a.last_plate_image_path, "最近车牌 last plate"]]
  : [["scene", a.image_path, "过车 scene"], ["plate", a.plate_image_path, "车牌 plate"]])
  .filter(([, kept]) => kept).map(([kind, , label]) => [kind, label]);
const etaPassed = (n) => new Date(n.eta_at) < Date.now();
const minutes = (seconds) => (seconds < 90 ? `${Math.round(seconds)} 秒` : `${Math.round(seconds / 60)} 分钟`);
const etaText = (n, timeZone) => `约 ${minutes(n.eta_s)} · ${formatTime(n.eta_at, timeZone).slice(11)}${etaPassed(n) ? " 已过 passed" : ""}`;
const ago = (iso) => {
  const seconds = Math.max(0, (Date.now() - new Date(iso)) / 1000);
  return seconds < 60 ? "刚刚 just now" : `${minutes(seconds)}前`;
};

export async function render(root, { config }) {
  document.head.append(el("style", {}, STYLE));
  const mapDiv = el("div", { id: "alert-map" });
  const listDiv = el("div", { id: "alert-list" });
  const status = el("span", { id: "alert-connection" }, "连接中 connecting…");
  const forwarding = el("div", { id: "alert-forwarding", class: "meta" });
  root.append(el("div", { class: "al-layout" }, mapDiv,
    el("aside", { class: "al-list" }, el("h2", {}, "实时预警 Live alerts ", status), forwarding, listDiv)));
  const map = L.map(mapDiv).setView([23.1, 114.4], 9);
  if (config.tile_url) L.tileLayer(config.tile_url, { maxZoom: 18 }).addTo(map);
  const [areas, roads, checkpoints, lifecycle] = await Promise.all([api("/areas"), api("/roads"), api("/checkpoints"),
    api("/watchlist/alerts/lifecycle")]);
  drawAreas(map, areas);
  const roadLayer = drawRoads(map, roads);
  L.geoJSON(checkpoints, { pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 4, weight: 1, color: "#fff",
    fillColor: "#1d7dd8", fillOpacity: 0.8 }).bindTooltip(`${f.properties.code} ${f.properties.name}`) }).addTo(map);
  labelCheckpoints(map, checkpoints);
  addLegend(map, roadLayer, [
    el("div", {}, el("span", { class: "dot", style: "background:#1d7dd8" }), "卡口 checkpoint"),
    el("div", {}, el("span", { class: "dot", style: "background:#7a0014;opacity:.6" }), "首次命中 first hit"),
    el("div", {}, el("span", { class: "dot", style: "background:#b00020" }), "最近出现 last seen"),
    el("div", {}, el("span", { class: "line", style: "border-top: 3px dashed #d62828" }), "预测去向 predicted route")]);
  const overlay = L.layerGroup().addTo(map);
  const alerts = new Map();

  // The alert follows the vehicle: the map shows where it was first hit, where it was seen last, and
  // the predicted next checkpoints from the last one.
  const lastOf = (a) => [a.last_lat ?? a.lat, a.last_lon ?? a.lon];
  const showOnMap = (a) => {
    overlay.clearLayers();
    const moved = a.last_checkpoint_id !== a.checkpoint_id;
    if (moved) {
      L.circleMarker([a.lat, a.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#7a0014", fillOpacity: 0.6 })
        .bindTooltip(`首次命中 first hit: ${checkpointLabel(a.checkpoint_code, a.checkpoint_name, a.checkpoint_id)}`).addTo(overlay);
    }
    L.circleMarker(lastOf(a), { radius: 10, color: "#fff", weight: 2, fillColor: "#b00020", fillOpacity: 1,
      className: "hit-marker" }).bindTooltip(`${moved ? "最近 last seen" : "命中 hit"}: ${a.plate} · ${lastCheckpoint(a)}`,
      { permanent: true, direction: "top", className: "hit-label" }).addTo(overlay);
    for (const next of a.predicted || []) {
      if (next.path && next.path.length > 1) {
        L.polyline(next.path.map(([lon, lat]) => [lat, lon]), { color: "#d62828", weight: 4, dashArray: "8 6",
          className: "predicted-path" }).addTo(overlay);
      }
      L.circleMarker([next.lat, next.lon], { radius: 7, color: "#d62828", fillColor: "#fff", fillOpacity: 1 })
        .bindTooltip(`${next.code} ${next.name} · ${etaText(next, config.timezone)}`).addTo(overlay);
    }
    const bounds = L.latLngBounds([[a.lat, a.lon], lastOf(a), ...(a.predicted || []).map((n) => [n.lat, n.lon])]);
    map.fitBounds(bounds.pad(0.3), { maxZoom: 13, animate: false });
  };

  const card = (a, fresh) => {
    const note = el("input", { placeholder: "指令/反馈/备注 instruction, outcome, note" });
    const timer = el("span", { class: "timer" });
    const steps = stepsAfter(lifecycle, a.status);
    const timed = steps.find((step) => step.due);
    const due = timed ? a[timed.due] : null;
    const tick = () => { const [text, late] = countdown(due); timer.textContent = text; timer.classList.toggle("overdue", late); };
    tick();
    const node = el("div", { class: `al-card ${a.status}${fresh ? " fresh" : ""}`, "data-alert": a.id, "data-plate": a.plate },
      el("h3", { onclick: () => showOnMap(a) }, a.plate, a.hit_count > 1 ? ` ×${a.hit_count}` : ""),
      el("div", { class: "why" }, watchesText(a)),
      el("div", { class: "meta first-seen" }, `首次 first: ${checkpointLabel(a.checkpoint_code, a.checkpoint_name, a.checkpoint_id)} · ${formatTime(a.captured_at, config.timezone)}`),
      a.hit_count > 1 ? el("div", { class: "last-seen" }, `最近 last seen: ${lastCheckpoint(a)} · ${formatTime(a.last_seen_at, config.timezone)}`,
        el("span", { class: "meta" }, ` (${ago(a.last_seen_at)})`)) : null,
      el("div", {}, el("span", { class: "status" }, stateLabel(lifecycle, a.status)), " ", timer),
      el("div", {}, imagesOf(a).map(([kind, label]) =>
        el("img", { src: `/api/v1/watchlist/alerts/${a.id}/images/${kind}`, alt: label, title: label, class: `img-${kind}`,
          onerror: (event) => event.target.remove() })),
        a.images_missing ? el("span", { class: "image-pending", title: "图片保存失败，系统将自动重试 the image could not be kept yet; retried automatically" },
          "图片待补 image pending") : null),
      (a.predicted || []).length ? el("div", { class: "meta" }, `下一卡口预测 next checkpoints from ${lastCheckpoint(a)}:`) : null,
      (a.predicted || []).length ? el("ol", { class: "predicted" }, a.predicted.map((n) => el("li", { class: etaPassed(n) ? "passed" : "" },
        `${n.code} ${n.name} · ${(n.distance_m / 1000).toFixed(1)} km · ${etaText(n, config.timezone)} (${BASIS[n.basis] || n.basis})`))) : null,
      a.instruction ? el("div", { class: "meta" }, `指令 ${a.instruction}`) : null,
      a.feedback ? el("div", { class: "meta" }, `反馈 ${a.feedback}`) : null,
      el("div", { class: "steps" }, steps.map((step) => el("button", {
        class: `step-${step.action}`, title: step.note_required ? "需填写 needs the note" : "", onclick: async () => {
          try { upsert(await api(`/watchlist/alerts/${a.id}/action`, { json: { action: step.action, note: note.value } }), false); }
          catch (err) { note.value = ""; note.placeholder = err.message; }
        } }, `${step.label_zh} ${step.label_en}`)), steps.length ? note : null));
    node.tick = tick;
    return node;
  };

  const upsert = (a, fresh) => {
    const old = alerts.get(a.id);
    const node = card(a, fresh);
    alerts.set(a.id, node);
    if (old && !fresh) old.replaceWith(node);
    else { if (old) old.remove(); listDiv.prepend(node); }  // a new hit or a repeat: to the top
    if (fresh) showOnMap(a);
  };

  // Forwarding to the provincial platform: alerts still waiting in the outbox, and why.
  const showForwarding = async () => {
    try {
      const pending = await api("/watchlist/webhook/deliveries?pending_only=true&limit=100");
      const oldest = pending[pending.length - 1];
      forwarding.textContent = pending.length
        ? `省平台转发 forwarding: ${pending.length} pending · alert #${oldest.alert_id} tried ${oldest.attempts}× (${oldest.last_error || "queued"})`
        : "省平台转发 forwarding: all delivered";
    } catch (err) { forwarding.textContent = `省平台转发 forwarding: ${err.message}`; }
  };
  showForwarding();
  setInterval(showForwarding, 10000);

  // The live stream opens before the list loads (events meanwhile wait in `early`), so nothing falls between.
  let early = [];
  const onEvent = (kind, a) => {
    if (early) { early.push([kind, a]); return; }
    if (kind !== "update") beep();
    upsert(a, kind !== "update");
  };
  followAlerts(status, onEvent);
  for (const a of (await api("/watchlist/alerts?limit=50")).reverse()) upsert(a, false);
  for (const [kind, a] of early) upsert(a, kind !== "update");
  early = null;
  setInterval(() => { for (const node of alerts.values()) node.tick(); }, 1000);
}

// Alerts over Server-Sent Events that never skip: each event's id is the server's outbox event id; a
// reconnect (the browser's own, or ours after the stream closed) resumes after the last id seen, and the
// server replays what was missed. Repeats (a relay's after a crash) are dropped by id. "Reconnecting" shows
// only when the stream stays down for more than OUTAGE_MS, not on every normal reconnect.
const OUTAGE_MS = 4000;

function followAlerts(status, onEvent) {
  let lastId = 0;
  let source = null;
  let outageTimer = null;
  let retryMs = 1000;
  const live = () => {
    clearTimeout(outageTimer);
    outageTimer = null;
    retryMs = 1000;
    status.textContent = "● 已连接 live";
    status.dataset.state = "live";
  };
  const troubled = () => {
    if (outageTimer) return;
    outageTimer = setTimeout(() => {
      status.textContent = "○ 重连中 reconnecting…";
      status.dataset.state = "reconnecting";
    }, OUTAGE_MS);
  };
  const handle = (kind) => (event) => {
    const id = Number(event.lastEventId);
    if (id && id <= lastId) return;  // seen already
    if (id) lastId = id;
    onEvent(kind, JSON.parse(event.data));
  };
  const open = () => {
    const url = lastId ? `/api/v1/watchlist/alerts/stream?since=${lastId}` : "/api/v1/watchlist/alerts/stream";
    source = new EventSource(url);
    source.addEventListener("open", live);
    source.addEventListener("error", () => {
      troubled();
      if (source.readyState === EventSource.CLOSED) {  // the browser gave up: reopen after the last id seen
        setTimeout(open, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    });
    for (const kind of ["new", "repeat", "update"]) source.addEventListener(kind, handle(kind));
  };
  open();
}
