// The console shell: who is logged in, role-aware navigation, and the page router.
import { api, el } from "./api.js";

// Each page names the roles that see it; an empty list means every logged-in user.
const PAGES = [
  { path: "map", title: "地图 Map", roles: [], load: () => import("./pages/map.js") },
  { path: "users", title: "用户 Users", roles: ["admin"], load: () => import("./pages/users.js") },
  { path: "audit", title: "审计 Audit", roles: ["auditor"], load: () => import("./pages/audit.js") },
  { path: "coverage", title: "覆盖 Coverage", roles: ["planner"], load: () => import("./pages/coverage.js") },
  { path: "trajectory", title: "轨迹 Trajectory", roles: ["investigator"], load: () => import("./pages/trajectory.js") },
  { path: "analyses", title: "研判 Analyses", roles: ["investigator"], load: () => import("./pages/analyses.js") },
  { path: "passes", title: "过车 Passes", roles: ["dispatcher", "investigator", "admin"], load: () => import("./pages/passes.js") },
  { path: "watchlist", title: "布控 Watchlist", roles: ["officer"], load: () => import("./pages/watchlist.js") },
  { path: "alerts", title: "预警 Alerts", roles: ["dispatcher"], load: () => import("./pages/alerts.js") },
];

function allowed(page, user) {
  return page.roles.length === 0 || page.roles.some((role) => user.roles.includes(role));
}

async function start() {
  const [user, config] = await Promise.all([api("/auth/me"), api("/console/config")]);
  document.getElementById("site-name").textContent = config.site_name;
  document.getElementById("user-badge").textContent = `${user.display_name} (${user.roles.join(", ")})`;
  document.getElementById("logout").addEventListener("click", async () => {
    await api("/auth/logout", { method: "POST" });
    window.location.assign("/login");
  });
  const current = window.location.pathname.split("/")[2] || "map";
  const visible = PAGES.filter((page) => allowed(page, user));
  const nav = document.getElementById("nav");
  for (const page of visible) {
    nav.append(el("a", { href: `/console/${page.path}`, class: page.path === current ? "active" : "",
                         "data-page": page.path }, page.title));
  }
  const root = document.getElementById("page");
  const page = visible.find((p) => p.path === current);
  if (!page) {
    root.append(el("p", { class: "error" }, "此页面不存在或无权访问 This page does not exist or your role may not open it."));
    return;
  }
  const module = await page.load();
  await module.render(root, { user, config });
}

start().catch((err) => {
  if (err.status !== 401) {
    document.getElementById("page").append(el("p", { class: "error" }, `加载失败 Failed to load: ${err.message}`));
  }
});
