// The console shell: who is logged in, role-aware navigation, and the page router.
import { api, el } from "./api.js";

// Each page names the roles that see it; an empty list means every logged-in user.
const PAGES = [
  { path: "map", title: "地图 Map", roles: [], load: () => import("./pages/map.js") },
  { path: "users", title: "用户 Users", roles: ["admin", "security_admin"], load: () => import("./pages/users.js") },
  { path: "checkpoints", title: "卡口管理 Checkpoints", roles: ["admin"], load: () => import("./pages/checkpoints.js") },
  { path: "audit", title: "审计 Audit", roles: ["auditor"], load: () => import("./pages/audit.js") },
  { path: "devices", title: "设备 Devices", roles: ["admin"], load: () => import("./pages/devices.js") },
  { path: "dead-letters", title: "死信 Dead letters", roles: ["admin"], load: () => import("./pages/dead_letters.js") },
  { path: "coverage", title: "覆盖 Coverage", roles: ["planner"], load: () => import("./pages/coverage.js") },
  { path: "trajectory", title: "轨迹 Trajectory", roles: ["investigator"], load: () => import("./pages/trajectory.js") },
  { path: "analyses", title: "研判 Analyses", roles: ["investigator"], load: () => import("./pages/analyses.js") },
  { path: "search", title: "过车查询 Search", roles: ["investigator", "dispatcher", "admin"], load: () => import("./pages/pass_search.js") },
  { path: "passes", title: "过车 Passes", roles: ["dispatcher", "investigator", "admin"], load: () => import("./pages/passes.js") },
  { path: "watchlist", title: "布控 Watchlist", roles: ["officer", "approver"], load: () => import("./pages/watchlist.js") },
  { path: "alerts", title: "预警 Alerts", roles: ["dispatcher"], load: () => import("./pages/alerts.js") },
  { path: "account", title: "账号 Account", roles: [], nav: false, load: () => import("./pages/account.js") },
];

function allowed(page, user) {
  return page.roles.length === 0 || page.roles.some((role) => user.roles.includes(role));
}

async function start() {
  const [user, config] = await Promise.all([api("/auth/me"), api("/console/config")]);
  document.getElementById("site-name").textContent = config.site_name;
  const badge = document.getElementById("user-badge");
  badge.replaceChildren(el("a", { href: "/console/account", title: "我的账号：密码、动态口令 Account: password, second factor" },
    `${user.display_name} (${user.roles.join(", ")})`));
  document.getElementById("logout").addEventListener("click", async () => {
    await api("/auth/logout", { method: "POST" });
    window.location.assign("/login");
  });
  const current = window.location.pathname.split("/")[2] || "map";
  const visible = PAGES.filter((page) => allowed(page, user));
  const nav = document.getElementById("nav");
  for (const page of visible.filter((p) => p.nav !== false)) {
    nav.append(el("a", { href: `/console/${page.path}`, class: page.path === current ? "active" : "",
                         "data-page": page.path }, page.title));
  }
  if (user.roles.includes("admin")) watchDeadLetters();
  const root = document.getElementById("page");
  const page = visible.find((p) => p.path === current);
  if (!page) {
    root.append(el("p", { class: "error" }, "此页面不存在或无权访问 This page does not exist or your role may not open it."));
    return;
  }
  const module = await page.load();
  await module.render(root, { user, config });
}

// Admins are told when a worker dead-letters a message: a red badge in the header, linking to the page.
function watchDeadLetters() {
  const badge = el("a", { id: "dead-letter-badge", href: "/console/dead-letters", hidden: true });
  document.getElementById("user-badge").before(badge);
  const check = async () => {
    try {
      const { count } = await api("/dead-letters/summary");
      badge.hidden = count === 0;
      badge.textContent = `⚠ 死信 ${count} dead letter${count === 1 ? "" : "s"}`;
      badge.title = "有消息处理失败，请查看并重放 messages failed: review and replay them";
    } catch { /* Redis away: the health page says so */ }
  };
  check();
  setInterval(check, 30000);
  window.addEventListener("dead-letters-changed", check);  // the page replayed some
}

start().catch((err) => {
  if (err.status !== 401) {
    document.getElementById("page").append(el("p", { class: "error" }, `加载失败 Failed to load: ${err.message}`));
  }
});
