// Stripe Elements: the card number goes from the browser to Stripe, never to this site.
// The form then carries only the PaymentMethod id Stripe returns.
(function () {
  var form = document.querySelector("form[data-stripe-key]");
  if (!form || !window.Stripe) { return; }
  var stripe = window.Stripe(form.dataset.stripeKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  form.addEventListener("submit", function (event) {
    var useNew = document.getElementById("card-new");
    if (!useNew || !useNew.checked || document.getElementById("new_card_token").value) { return; }
    event.preventDefault();
    stripe.createPaymentMethod({ type: "card", card: card }).then(function (result) {
      if (result.error) {
        var box = document.createElement("div");
        box.className = "error-summary";
        box.setAttribute("role", "alert");
        box.textContent = result.error.message;
        form.prepend(box);
        return;
      }
      document.getElementById("new_card_token").value = result.paymentMethod.id;
      form.submit();
    });
  });
})();
