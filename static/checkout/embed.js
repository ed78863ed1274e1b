/* The hosted page inside the inline SDK's overlay (GET /v1/sdk.js opens it in a frame).

   Framed on a merchant's site the page cannot post its forms: the browser keeps Duro's
   CSRF cookie from a frame of another site. So here it pays through the public JSON
   endpoints instead, and reloads itself (a GET) for any step that follows (the OTP, a
   transfer's instructions). It talks to the merchant's page only after a handshake: the
   SDK posts {type: "duro:hello", nonce} to this frame; the page answers to that
   event.origin alone, once it has checked it against the origins the merchant allowed
   (the list the server renders, the same that makes up frame-ancestors), and never to
   "*". It tells the SDK when the session completed ({type: "duro:success"}) and when the
   payer pressed Escape ({type: "duro:close"}). Without a frame this file does nothing. */
(function () {
  "use strict";

  var body = document.body;
  if (window.self === window.top || !body.hasAttribute("data-embed-origins")) { return; }
  document.documentElement.classList.add("embedded");

  var allowed = body.getAttribute("data-embed-origins").split(" ").filter(Boolean);
  var parentOrigin = null;
  var nonce = null;
  var waiting = [];

  function originAllowed(origin) {
    return allowed.some(function (entry) {
      if (entry.slice(-2) === ":*") {  // test mode's http://localhost:* and http://127.0.0.1:*
        var base = entry.slice(0, -2);
        return origin === base || (origin.indexOf(base + ":") === 0 &&
                                   /^[0-9]{1,5}$/.test(origin.slice(base.length + 1)));
      }
      return origin === entry;
    });
  }

  function tell(message) {
    if (!parentOrigin) { waiting.push(message); return; }
    message.nonce = nonce;
    window.parent.postMessage(message, parentOrigin);
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== window.parent || !data || data.type !== "duro:hello" ||
        typeof data.nonce !== "string" || !originAllowed(event.origin)) { return; }
    if (parentOrigin !== null && event.origin !== parentOrigin) { return; }
    parentOrigin = event.origin;
    nonce = data.nonce;
    window.parent.postMessage({ type: "duro:ready", nonce: nonce }, parentOrigin);
    body.setAttribute("data-embed-parent", parentOrigin);
    var queued = waiting;
    waiting = [];
    queued.forEach(tell);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { tell({ type: "duro:close" }); }
  });

  var completedSent = false;
  function completed(reference) {
    if (completedSent) { return; }
    completedSent = true;
    tell({ type: "duro:success", sessionId: body.getAttribute("data-embed-session"),
           reference: reference || body.getAttribute("data-embed-reference"),
           status: "completed" });
  }

  if (document.querySelector("[data-embed-completed]")) { completed(null); }

  var focus = document.querySelector("[data-embed-focus]");
  if (focus) { focus.focus(); }

  var pageUrl = body.getAttribute("data-embed-page");
  var payUrl = body.getAttribute("data-embed-pay");

  function showError(form, message) {
    var node = document.getElementById("form-error");
    if (!node) {
      node = document.createElement("div");
      node.className = "alert";
      node.id = "form-error";
      node.setAttribute("role", "alert");
      form.parentNode.insertBefore(node, form);
    }
    node.textContent = message || "The payment did not go through. Please try again.";
  }

  function value(form, name) {
    var field = form.querySelector("[name=" + name + "]");
    return field && !field.disabled ? field.value.trim() : "";
  }

  function payBody(form) {
    if (form.querySelector("[name=otp]")) { return { otp: value(form, "otp") }; }
    if (form.querySelector("[name=pin]")) { return { pin: value(form, "pin") }; }
    var checked = form.querySelector("input[name=rail]:checked");
    var rail = checked ? checked.value : "card";
    var request = { email: value(form, "email"), phone: value(form, "phone"), rail: rail };
    if (rail === "card") {
      var expiry = value(form, "card_expiry").replace(/\s/g, "").split("/");
      var year = parseInt(expiry[1], 10);
      request.card = { number: value(form, "card_number"),
                       expMonth: parseInt(expiry[0], 10) || 0,
                       expYear: year < 100 ? 2000 + year : (year || 0),
                       cvc: value(form, "card_cvc") };
    } else if (rail === "ussd") {
      request.ussd = { bank: value(form, "ussd_bank") };
    } else if (rail === "mobile_money") {
      request.mobileMoney = { provider: value(form, "mobile_money_provider"),
                              phone: value(form, "mobile_money_phone") };
    }
    return request;
  }

  /* "Use a saved card" in the frame (no cookie of ours is sent here): the challenge and
     the proof stay in this script's memory, and the cards are drawn from templates. */
  var identityUrl = payUrl.replace(/\/pay$/, "/identity");

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "Content-Type": "application/json", "Accept": "application/json" },
                        body: JSON.stringify(body) })
      .then(function (response) { return response.json(); });
  }

  function copyOf(id) {
    return document.getElementById(id).content.firstElementChild.cloneNode(true);
  }

  function refusal(answer) {
    return (answer && answer.error && answer.error.message) || "Please try again.";
  }

  function askForCode(form) {
    var email = value(form, "email");
    if (!email) {
      showError(form, "Enter your email first, then choose \u201cUse a saved card\u201d.");
      form.querySelector("#email").focus();
      return;
    }
    post(identityUrl, { email: email }).then(function (answer) {
      var asked = answer && answer.data;
      if (!asked) { showError(form, refusal(answer)); return; }
      var step = copyOf("identity-code-template");
      var input = step.querySelector("#identity-code");
      var error = step.querySelector("#code-error");
      form.hidden = true;
      form.parentNode.insertBefore(step, form);
      input.focus();
      step.querySelector("#identity-back").addEventListener("click", function () {
        step.remove();
        form.hidden = false;
        form.querySelector("#email").focus();
      });
      step.querySelector("#verify-code").addEventListener("click", function () {
        post(identityUrl + "/verify", { challenge: asked.challenge, code: input.value.trim() })
          .then(function (checked) {
            if (!checked || !checked.data) {
              error.textContent = refusal(checked);
              error.hidden = false;
              input.setAttribute("aria-invalid", "true");
              input.setAttribute("aria-describedby", "code-error");
              input.focus();
              return;
            }
            step.remove();
            form.hidden = false;
            showSavedCards(form, checked.data);
          })
          .catch(function () { error.textContent = refusal(null); error.hidden = false; });
      });
    }).catch(function () { showError(form, null); });
  }

  function showSavedCards(form, proven) {
    var section = copyOf("saved-cards-template");
    var list = section.querySelector(".saved-card-list");
    var button = section.querySelector("#pay-saved-card");
    proven.cards.forEach(function (card, index) {
      var option = copyOf("saved-card-template");
      var radio = option.querySelector("input");
      radio.value = card.id;
      radio.checked = index === 0;
      option.querySelector("[data-card-name]").textContent =
        card.brand.charAt(0).toUpperCase() + card.brand.slice(1) + " \u2022\u2022\u2022\u2022 " + card.last4;
      option.querySelector(".card-expiry").textContent =
        "expires " + ("0" + card.expMonth).slice(-2) + "/" + card.expYear;
      list.appendChild(option);
    });
    if (!proven.cards.length) {
      list.hidden = true;
      button.hidden = true;
      section.querySelector("#no-saved-cards").hidden = false;
    }
    var ask = form.querySelector("[data-identity-ask]");
    if (ask) { ask.hidden = true; }
    form.parentNode.insertBefore(section, form);
    section.querySelector("#saved-cards-title").focus();
    button.addEventListener("click", function () {
      var chosen = list.querySelector("input:checked");
      if (!chosen || button.disabled) { return; }
      button.disabled = true;
      post(payUrl, { rail: "card", savedCard: chosen.value, identityProof: proven.proof })
        .then(function (answer) {
          var data = answer && answer.data;
          if (data && data.status === "completed") { completed(data.reference); return; }
          button.disabled = false;
          showError(form, data && data.error ? data.error.message : refusal(answer));
        })
        .catch(function () { button.disabled = false; showError(form, null); });
    });
  }

  /* The full page's link goes to the email step; in the frame the email typed here asks. */
  Array.prototype.forEach.call(document.querySelectorAll("[data-identity-ask]"), function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      askForCode(link.closest("form"));
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-pay-form]"), function (form) {
    var button = form.querySelector("[data-pay-button]");
    var label = button ? button.textContent : "";
    var busy = false;
    function ready() {
      busy = false;
      delete form.dataset.submitted;
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); button.textContent = label; }
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      fetch(payUrl, { method: "POST", credentials: "same-origin",
                      headers: { "Content-Type": "application/json", "Accept": "application/json" },
                      body: JSON.stringify(payBody(form)) })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          var data = answer && answer.data;
          if (!data) {
            showError(form, answer && answer.error && answer.error.message);
            ready();
          } else if (data.status === "completed") {
            completed(data.reference);
          } else if (data.status === "failed") {
            showError(form, data.error && data.error.message);
            ready();
          } else {
            window.location.assign(pageUrl);  // the step that follows, rendered by the server
          }
        })
        .catch(function () { showError(form, null); ready(); });
    });
  });

  /* "Use another card" on the OTP step: the form again (a new pay replaces the step). */
  var another = document.querySelector("#another-card");
  if (another && another.form) {
    another.form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.location.assign(pageUrl + "?another=1");
    });
  }

  /* Test mode's "simulate the bank" buttons post through their JSON twin. */
  Array.prototype.forEach.call(document.querySelectorAll("form.simulate"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var outcome = event.submitter ? event.submitter.value : "paid";
      fetch(payUrl.replace(/\/pay$/, "/simulate"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ outcome: outcome }) })
        .then(function () { window.location.assign(pageUrl); });
    });
  });

  /* The processing page polls the status; framed, a completion ends the overlay. */
  var poll = document.querySelector("[data-poll-status]");
  if (poll) {
    var tick = function () {
      fetch(poll.getAttribute("data-poll-status"), { headers: { "Accept": "application/json" },
                                                       credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          var data = answer && answer.data;
          if (data && data.status === "completed") { completed(data.reference); }
          else { window.setTimeout(tick, 1500); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    };
    window.setTimeout(tick, 1000);
  }
}());
