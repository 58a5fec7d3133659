// The accountants' portal: the top bar's company and environment selectors apply at once, and the period
// preset shows the date fields only for "Período customizado". Without JavaScript a button does the same.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  var preset = document.getElementById("f-periodo");
  var dates = document.querySelectorAll("[data-custom-period]");
  function sync() {
    dates.forEach(function (box) { box.hidden = preset.value !== "customizado"; });
  }
  if (preset) { preset.addEventListener("change", sync); sync(); }
})();
