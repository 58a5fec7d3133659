// Accessibility helpers (issue 9), for the panel and the staff admin alike:
// - every invalid field is tied to its message (aria-invalid, aria-describedby), whatever template
//   drew it, and after a failed submit the focus goes to the first invalid field, so keyboard and
//   screen-reader users land on what to fix;
// - a table box that scrolls sideways (a wide table on a phone) can be reached and scrolled by keyboard.
(function () {
  let seq = 0;
  const feedbackFor = (field) => {
    const scope = field.closest(".mb-3, .form-group, .form-check, .col, [class*='col-'], .input-group") || field.parentElement;
    return scope ? scope.querySelector(".invalid-feedback, [data-field-error]") : null;
  };
  const invalid = [...document.querySelectorAll(".is-invalid, [aria-invalid='true']")]
    .filter((el) => el.matches("input, select, textarea"));
  for (const field of invalid) {
    field.setAttribute("aria-invalid", "true");
    const message = feedbackFor(field);
    if (!message) continue;
    if (!message.id) message.id = `erro-${field.id || field.name || ++seq}`;
    const ids = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (!ids.includes(message.id)) field.setAttribute("aria-describedby", [message.id, ...ids].join(" "));
  }
  const first = invalid.find((el) => !el.disabled && el.type !== "hidden");
  if (first) first.focus({ preventScroll: false });

  const labelOf = (box) => {
    const table = box.querySelector("table");
    const caption = table && table.querySelector("caption");
    let heading = box.previousElementSibling;
    while (heading && !/^H[1-6]$/.test(heading.tagName)) heading = heading.previousElementSibling;
    return (caption && caption.textContent.trim()) || (heading && heading.textContent.trim()) || document.title;
  };
  const scrollable = () => {
    document.querySelectorAll(".table-responsive").forEach((box) => {
      if (box.scrollWidth > box.clientWidth + 1) {
        if (!box.hasAttribute("tabindex")) {
          box.tabIndex = 0;
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", labelOf(box));
          box.dataset.a11yScroll = "1";
        }
      } else if (box.dataset.a11yScroll) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        delete box.dataset.a11yScroll;
      }
    });
  };
  scrollable();
  window.addEventListener("resize", scrollable);
})();
