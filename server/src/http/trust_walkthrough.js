/*
 * The Trust Center's "Book a walkthrough" helper (served at
 * /trust/walkthrough.js, same origin).
 *
 * The form is a plain POST to /trust/walkthrough and works without this
 * file. When Metiva's consent snippet is on the page and the visitor has
 * granted identification, the same fields are first handed to the
 * snippet's /capture (which links this visit to the contact); then the
 * form is posted as usual. Without that consent nothing extra happens:
 * the plain post keeps no visitor link.
 */
(function () {
  "use strict";
  var form = document.getElementById("walkthrough-form");
  if (!form) return;
  var sending = false;
  form.addEventListener("submit", function (e) {
    if (sending) return;
    var m = window.Metiva;
    var consent = null;
    try {
      consent = m && typeof m.consent === "function" ? m.consent() : null;
    } catch (err) {
      consent = null;
    }
    if (!consent || consent.identification !== true || typeof m.capture !== "function") return;
    e.preventDefault();
    sending = true;
    var post = function () {
      HTMLFormElement.prototype.submit.call(form);
    };
    try {
      // capture() never rejects; a failed capture still posts the form.
      m.capture(form).then(post, post);
    } catch (err) {
      post();
    }
  });
})();
