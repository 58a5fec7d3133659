// Small progressive enhancements: copy buttons, confirmations, plan price preview.
// Without the async clipboard (plain http on another host, permission refused) select the text and
// use the old copy command, so the button never silently does nothing.
function copyFallback(target) {
  if (!target || !target.select) return false;
  target.focus();
  target.select();
  try { return document.execCommand("copy"); } catch { return false; }
}
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const target = document.querySelector(copy.dataset.copy);
    const text = target ? (target.value || target.textContent).trim() : "";
    const copied = () => {
      copy.dataset.originalHtml ??= copy.innerHTML;
      copy.textContent = copy.dataset.copiedText || "Copiado!";
      setTimeout(() => (copy.innerHTML = copy.dataset.originalHtml), 1500);
    };
    const fallback = () => { if (copyFallback(target)) copied(); };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(copied, fallback);
    else fallback();
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
  const button = event.target.querySelector("[data-busy]");
  if (button && !event.defaultPrevented && !button.disabled) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    button.insertAdjacentHTML("afterbegin", '<span class="spinner-border spinner-border-sm me-1" aria-hidden="true" data-busy-spinner></span>');
  }
});
// Back/forward cache: a page shown again must not keep its buttons disabled by a past submit.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  document.querySelectorAll("[data-busy][aria-busy]").forEach((button) => {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.querySelector("[data-busy-spinner]")?.remove();
  });
});
function formatBRL(cents) {
  return (cents / 100).toLocaleString("pt-BR", { style: "currency", currency: "BRL" }).replace(/\u00a0/g, " ");
}
function wirePlanPicker(root) {
  // templates/partner/_plan_picker.html marks its inputs (their names may carry a prefix, "client.")
  const software = root.querySelector("[data-pick=software]");
  const plan = root.querySelector("[data-pick=plan]");
  const payerInputs = root.querySelectorAll("[data-pick=payer]");
  const out = root.querySelector("[data-price]:not(option)");  // plan options carry data-price too
  if (!software || !plan) return;
  const filter = () => {
    for (const opt of plan.options) {
      if (!opt.value) continue;
      opt.hidden = software.value && opt.dataset.software !== software.value;
    }
    if (plan.selectedOptions[0]?.hidden) plan.value = "";
  };
  const price = () => {
    if (!out) return;
    const opt = plan.selectedOptions[0];
    const payer = [...payerInputs].find((i) => i.checked || i.tagName === "SELECT")?.value;
    if (!opt || !opt.dataset.price) { out.textContent = "—"; return; }
    const list = Number(opt.dataset.price);
    if (payer === "partner") {
      const discount = Math.floor(list / 2 + 0.5);  // half-up, like the server
      out.textContent = `${formatBRL(list - discount)} (${formatBRL(list)} − 50% ${out.dataset.discountLabel || ""})`;
    } else {
      out.textContent = formatBRL(list);
    }
  };
  software.addEventListener("change", () => { filter(); price(); });
  plan.addEventListener("change", price);
  payerInputs.forEach((i) => i.addEventListener("change", price));
  filter(); price();
}
document.querySelectorAll("[data-plan-picker]").forEach(wirePlanPicker);
// Orders' "Novo titular": the radio shows either the client list or the new holder's fields (without
// JavaScript both show; the radio still tells the server which one counts).
document.querySelectorAll("[data-holder-choice]").forEach((form) => {
  const radios = form.querySelectorAll("input[name=holder]");
  const sync = () => {
    const mode = [...radios].find((r) => r.checked)?.value || "existing";
    form.querySelectorAll("[data-holder-part]").forEach((part) => {
      part.hidden = part.dataset.holderPart !== mode;
    });
  };
  radios.forEach((r) => r.addEventListener("change", sync));
  sync();
});
