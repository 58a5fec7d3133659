// Stripe Elements for saving a card: the card goes from the browser to Stripe; only the
// resulting payment method id (pm_…) is posted to our server.
(function () {
  const form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements({ locale: "pt-BR" }).create("card", { hidePostalCode: true });
  card.mount("#card-element");
  const errors = document.getElementById("card-errors");
  form.addEventListener("submit", async (event) => {
    if (document.getElementById("payment-method-id").value) return;
    event.preventDefault();
    const button = form.querySelector("button");
    const { setupIntent, error } = await stripe.confirmCardSetup(form.dataset.clientSecret, { payment_method: { card } });
    if (error) {
      errors.textContent = error.message;
      button.disabled = false;
      button.querySelector(".spinner-border")?.remove();
      return;
    }
    document.getElementById("payment-method-id").value = setupIntent.payment_method;
    form.submit();
  });
})();
