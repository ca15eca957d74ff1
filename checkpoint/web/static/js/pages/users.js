// 用户管理 User administration, split by duty (三员分立, core/duties.py):
// 系统管理员 (admin) adds accounts with operational roles, disables/enables them, resets a password (shown once);
// 安全管理员 (security_admin) edits roles with a reason; an added 审批人 waits for a second security admin.
import { api, el, formatTime } from "../api.js";

const ROLE_NAMES = {
  officer: "布控民警", dispatcher: "指挥调度", investigator: "侦查研判", planner: "卡口规划",
  admin: "系统管理员", security_admin: "安全管理员", auditor: "审计管理员", approver: "审批人",
};
const OPERATIONAL = ["officer", "dispatcher", "investigator", "planner"];
const roleLabel = (role) => `${ROLE_NAMES[role] || role} ${role}`;

function roleBoxes(name, roles, checked = []) {
  return el("span", { class: "role-boxes" }, roles.map((role) => el("label", { class: "role-box" },
    el("input", { type: "checkbox", name, value: role, checked: checked.includes(role) }), ROLE_NAMES[role] || role)));
}

export async function render(root, { user, config }) {
  const isAdmin = user.roles.includes("admin");
  const isSecurity = user.roles.includes("security_admin");
  const message = el("p", { class: "message", id: "users-message", role: "status" });
  const secret = el("p", { class: "once", id: "password-once", hidden: true });
  const table = el("table", { class: "grid", id: "users-table" });
  const grants = el("table", { class: "grid", id: "grants-table" });
  const show = (text, bad = false) => { message.textContent = text; message.className = bad ? "error" : "message"; };

  const panel = el("section", { class: "panel" }, el("h2", {}, "用户管理 Users"),
    el("p", { class: "hint" }, isSecurity
      ? "安全管理员：修改角色须填写原因；授予审批人须另一名安全管理员确认。Roles change with a reason; an approver grant needs a second security admin."
      : "系统管理员：创建业务账号、停用/启用、重置密码；角色由安全管理员授予。Accounts here; roles are granted by a security admin."));
  if (isAdmin) {
    const form = el("form", { class: "inline-form", id: "user-form" },
      el("input", { name: "username", placeholder: "用户名 username", required: true }),
      el("input", { name: "display_name", placeholder: "姓名 display name" }),
      el("input", { name: "unit", placeholder: "单位 unit" }),
      el("input", { name: "password", type: "password", placeholder: "初始密码 password (≥10)", required: true }),
      roleBoxes("roles", OPERATIONAL),
      el("button", { type: "submit" }, "添加 Add user"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        await api("/users", { json: { username: data.get("username"), display_name: data.get("display_name"),
          unit: data.get("unit") || null, password: data.get("password"), roles: data.getAll("roles") } });
        form.reset();
        show("已添加 user added");
        await load();
      } catch (err) { show(err.message, true); }
    });
    panel.append(form);
  }
  panel.append(message, secret, table);
  root.append(panel);
  if (isSecurity) root.append(el("section", { class: "panel" }, el("h2", {}, "待确认的授权 Grants awaiting a second security admin"), grants));

  const act = async (work, done) => {
    try { await work(); await load(); show(done); } catch (err) { show(err.message, true); }
  };
  const resetPassword = (u) => act(async () => {
    const reset = await api(`/users/${u.id}/password-reset`, { method: "POST" });
    secret.hidden = false;
    secret.replaceChildren(`${u.username} 的新密码（仅显示一次，请当面交给本人）new password, shown once: `,
      el("code", { id: "new-password" }, reset.password));
  }, `已重置 ${u.username} 的密码，其登录已全部失效 password reset; their logins ended`);

  const editRoles = (u, row) => {
    const editor = el("form", { class: "role-editor", "data-user": u.username },
      roleBoxes("roles", Object.keys(ROLE_NAMES), u.roles),
      el("input", { name: "reason", placeholder: "原因 reason (必填 required)", required: true, size: 28 }),
      el("button", { type: "submit", class: "save-roles" }, "保存 Save"),
      el("button", { type: "button", class: "link", onclick: () => load() }, "取消 Cancel"));
    editor.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(editor);
      await act(async () => {
        const wanted = data.getAll("roles");
        await api(`/users/${u.id}/roles`, { method: "PUT", json: { roles: wanted, reason: data.get("reason") } });
      }, `已更新 ${u.username} 的角色 roles saved` +
         (data.getAll("roles").includes("approver") && !u.roles.includes("approver") ? "；审批人待另一名安全管理员确认 approver awaits a second security admin" : ""));
    });
    row.querySelector(".roles-cell").replaceChildren(editor);
  };

  const actions = (u, row) => {
    const buttons = [];
    if (isSecurity && u.id !== user.id) buttons.push(el("button", { class: "link edit-roles", onclick: () => editRoles(u, row) }, "编辑角色 edit roles"));
    if (isAdmin && u.id !== user.id) {
      buttons.push(el("button", { class: "link toggle-active", onclick: () => act(
        () => api(`/users/${u.id}`, { method: "PATCH", json: { active: !u.active } }),
        u.active ? `已停用 ${u.username} disabled` : `已启用 ${u.username} enabled`) }, u.active ? "停用 disable" : "启用 enable"));
      buttons.push(el("button", { class: "link reset-password", onclick: () => resetPassword(u) }, "重置密码 reset password"));
    }
    return buttons;
  };

  const load = async () => {
    const users = await api("/users");
    const byId = Object.fromEntries(users.map((u) => [u.id, u.username]));
    table.replaceChildren(el("tr", {}, ["用户名 user", "姓名 name", "单位 unit", "角色 roles", "状态 state", "动态口令 2FA", "创建 created", ""].map((h) => el("th", {}, h))),
      ...users.map((u) => {
        const row = el("tr", { "data-user": u.username, class: u.active ? "" : "disabled" },
          el("td", {}, u.username), el("td", {}, u.display_name), el("td", {}, u.unit || "—"),
          el("td", { class: "roles-cell" }, u.roles.length ? u.roles.map(roleLabel).join("、") : "—"),
          el("td", {}, u.active ? "启用 active" : "停用 disabled"), el("td", {}, u.totp_enabled ? "已启用 on" : "—"),
          el("td", {}, formatTime(u.created_at, config.timezone)));
        row.append(el("td", { class: "user-actions" }, actions(u, row)));
        return row;
      }));
    if (!isSecurity) return;
    const pending = await api("/role-grants");
    grants.replaceChildren(el("tr", {}, ["用户 user", "角色 role", "原因 reason", "申请人 asked by", "时间 at", ""].map((h) => el("th", {}, h))),
      ...pending.map((g) => el("tr", { "data-grant": g.id },
        el("td", {}, byId[g.user_id] || g.user_id), el("td", {}, roleLabel(g.role)), el("td", {}, g.reason),
        el("td", {}, byId[g.requested_by] || g.requested_by), el("td", {}, formatTime(g.requested_at, config.timezone)),
        el("td", {}, g.requested_by === user.id ? "待另一名安全管理员 awaiting another security admin" : [
          el("button", { class: "confirm-grant", onclick: () => act(() => api(`/role-grants/${g.id}/decision`, { json: { confirm: true, reason: "" } }), "已确认授权 grant confirmed") }, "确认 confirm"),
          el("button", { class: "danger", onclick: () => act(() => api(`/role-grants/${g.id}/decision`, { json: { confirm: false, reason: "" } }), "已拒绝授权 grant refused") }, "拒绝 refuse")]))));
    if (!pending.length) grants.append(el("tr", {}, el("td", { colspan: 6 }, "无 none")));
  };
  await load();
}
