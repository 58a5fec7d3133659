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
  // Flask-Admin's placeholder links (filters, the current page): navigating to javascript: is an
  // inline script too; their own handlers have already run.
  if (event.target.closest('a[href^="javascript:"]')) event.preventDefault();
});
