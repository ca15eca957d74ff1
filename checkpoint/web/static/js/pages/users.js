// User administration for admins: list, add, change roles, disable, reset a password.
import { api, el, formatTime } from "../api.js";

const ROLES = ["officer", "dispatcher", "investigator", "planner", "admin", "auditor"];

export async function render(root, { config }) {
  const message = el("p", { class: "message", role: "status" });
  const table = el("table", { class: "grid", id: "users-table" });
  const form = el("form", { class: "inline-form", id: "user-form" },
    el("input", { name: "username", placeholder: "用户名 username", required: true }),
    el("input", { name: "display_name", placeholder: "姓名 display name" }),
    el("input", { name: "password", type: "password", placeholder: "初始密码 password (≥10)", required: true }),
    el("select", { name: "roles", multiple: true, size: 3 }, ROLES.map((r) => el("option", { value: r }, r))),
    el("button", { type: "submit" }, "添加 Add user"));
  root.append(el("section", { class: "panel" }, el("h2", {}, "用户 Users"), form, message, table));

  const show = (text, bad = false) => { message.textContent = text; message.className = bad ? "error" : "message"; };
  const load = async () => {
    const users = await api("/users");
    table.replaceChildren(el("tr", {}, ["用户名", "姓名", "角色 roles", "状态", "创建 created", ""].map((h) => el("th", {}, h))),
      ...users.map((u) => el("tr", {},
        el("td", {}, u.username), el("td", {}, u.display_name), el("td", {}, u.roles.join(", ")),
        el("td", {}, u.active ? "启用 active" : "停用 disabled"), el("td", {}, formatTime(u.created_at, config.timezone)),
        el("td", {}, el("button", { class: "link", onclick: async () => {
          try { await api(`/users/${u.id}`, { method: "PATCH", json: { active: !u.active } }); await load(); }
          catch (err) { show(err.message, true); }
        } }, u.active ? "停用 disable" : "启用 enable")))));
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      await api("/users", { json: { username: data.get("username"), display_name: data.get("display_name"),
        password: data.get("password"), roles: data.getAll("roles") } });
      form.reset();
      show("已添加 user added");
      await load();
    } catch (err) { show(err.message, true); }
  });
  await load();
}
