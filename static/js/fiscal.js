// Progress of a background job (an upload or an export): poll its JSON status every second, move the bar,
// and reload the page when it is done. Without JavaScript the page shows a refresh link.
(function () {
  "use strict";
  document.querySelectorAll("[data-progress-bar]").forEach(function (bar) {
    bar.style.width = (bar.getAttribute("data-width") || "0") + "%";
  });
  var box = document.querySelector("[data-progress][data-done='false']");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("[data-progress-bar]");
  var meter = box.querySelector("[role=progressbar]");
  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state) { window.setTimeout(tick, 3000); return; }
        bar.style.width = state.progress + "%";
        bar.textContent = state.progress + "%";
        meter.setAttribute("aria-valuenow", state.progress);
        if (state.done) { window.location.reload(); } else { window.setTimeout(tick, 1000); }
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 1000);
})();
