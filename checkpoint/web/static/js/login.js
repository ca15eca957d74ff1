import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  try {
    await api("/auth/login", { json: {
      username: document.getElementById("username").value,
      password: document.getElementById("password").value,
    } });
    const next = new URLSearchParams(window.location.search).get("next");
    window.location.assign(next && next.startsWith("/console/") ? next : "/console/map");
  } catch (err) {
    error.textContent = err.status === 401 ? "用户名或密码错误 Wrong username or password" : err.message;
    error.hidden = false;
  }
});
