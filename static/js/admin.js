// Staff admin: what Flask-Admin's and our admin templates did in inline handlers, as listeners
// (the Content-Security-Policy allows no inline script).
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  const action = event.target.closest("[data-admin-action]");
  if (action) {
    event.preventDefault();
    window.modelActions?.execute(action.dataset.adminAction);  // Flask-Admin's actions.js
    return;
  }
});
// Flask-Admin's placeholder links (dropdown toggles, filters, the current page): following a
// javascript: URL is an inline script too. Cancelled while capturing, before any handler can stop
// the event; their own handlers still run.
document.addEventListener("click", (event) => {
  if (event.target.closest('a[href^="javascript:"]')) event.preventDefault();
}, true);
