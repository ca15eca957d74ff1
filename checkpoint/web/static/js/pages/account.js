// 我的账号 Account (every user, opened from the name in the header): change one's own password (every login
// ends: log in again), and for admins and approvers an optional TOTP second factor (RFC 6238, any
// authenticator app).
import { api, el } from "../api.js";

const TOTP_ROLES = ["admin", "security_admin", "auditor", "approver"];

export async function render(root, { user }) {
  const message = el("p", { class: "message", id: "account-message", role: "status" });
  const show = (text, bad = false) => { message.textContent = text; message.className = bad ? "error" : "message"; };
  const form = el("form", { class: "inline-form", id: "password-form" },
    el("input", { name: "current_password", type: "password", placeholder: "当前密码 current password", required: true, autocomplete: "current-password" }),
    el("input", { name: "new_password", type: "password", placeholder: "新密码 new password (≥10，字母+数字)", required: true, autocomplete: "new-password" }),
    el("button", { type: "submit" }, "修改密码 Change password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      await api("/auth/password", { json: data });
      window.location.assign("/login");  // every login of this user has ended
    } catch (err) { show(err.message, true); }
  });
  const panel = el("section", { class: "panel" }, el("h2", {}, `我的账号 Account · ${user.username}`),
    el("h3", {}, "修改密码 Password"), el("p", { class: "hint" }, "修改后所有登录失效，请用新密码重新登录。Every login ends; log in again."), form);
  if (user.roles.some((role) => TOTP_ROLES.includes(role))) {
    panel.append(el("h3", {}, "动态口令 Second factor (TOTP)"));
    if (user.totp_enabled) panel.append(el("p", {}, "已启用 enabled"));
    else {
      const setup = el("div", { id: "totp-setup" });
      panel.append(el("button", { type: "button", id: "totp-start", onclick: async () => {
        try {
          const { secret, uri } = await api("/auth/totp/setup", { method: "POST" });
          const code = el("input", { id: "totp-code", placeholder: "6 位口令 6-digit code", inputmode: "numeric", size: 10 });
          setup.replaceChildren(el("p", {}, "在验证器应用中添加密钥 Add this key in your authenticator app: ", el("code", {}, secret)),
            el("p", { class: "hint" }, uri), code,
            el("button", { type: "button", onclick: async () => {
              try { await api("/auth/totp/enable", { json: { code: code.value } }); show("动态口令已启用 second factor enabled"); setup.replaceChildren(); }
              catch (err) { show(err.message, true); }
            } }, "启用 Enable"));
        } catch (err) { show(err.message, true); }
      } }, "设置动态口令 Set up"), setup);
    }
  }
  panel.append(message);
  root.append(panel);
}
