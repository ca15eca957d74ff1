import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  try {
    const totp = document.getElementById("totp").value.trim();
    await api("/auth/login", { json: {
      username: document.getElementById("username").value,
      password: document.getElementById("password").value,
      totp: totp || null,
    } });
    const next = new URLSearchParams(window.location.search).get("next");
    window.location.assign(next && next.startsWith("/console/") ? next : "/console/map");
  } catch (err) {
    if (err.status === 401 && err.message.includes("authenticator")) {  // the account has a second factor
      document.getElementById("totp-label").hidden = false;
      document.getElementById("totp").focus();
    }
    error.textContent = err.status === 401 && !err.message.includes("authenticator")
      ? "用户名或密码错误 Wrong username or password" : err.message;
    error.hidden = false;
  }
});
