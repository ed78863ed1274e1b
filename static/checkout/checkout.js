/* Progressive enhancement of the hosted checkout page. The page works without
   this file: it formats the card number and expiry, shows the card brand,
   validates inline, stops a second submit and polls while a payment confirms. */
(function () {
  "use strict";

  function digits(value) { return value.replace(/\D/g, ""); }

  function luhn(number) {
    var sum = 0;
    for (var i = 0; i < number.length; i++) {
      var d = parseInt(number.charAt(number.length - 1 - i), 10);
      if (i % 2 === 1) { d *= 2; if (d > 9) { d -= 9; } }
      sum += d;
    }
    return number.length >= 12 && sum % 10 === 0;
  }

  function brand(number) {
    var six = parseInt(number.slice(0, 6), 10);
    var four = parseInt(number.slice(0, 4), 10);
    var two = parseInt(number.slice(0, 2), 10);
    if ((six >= 506099 && six <= 506198) || (six >= 650002 && six <= 650027) ||
        (six >= 507865 && six <= 507964)) { return "Verve"; }
    if (number.charAt(0) === "4") { return "Visa"; }
    if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) { return "Mastercard"; }
    if (two === 34 || two === 37) { return "Amex"; }
    return "";
  }

  function setError(input, message) {
    var field = input.closest(".field");
    var id = input.id + "-error";
    var node = document.getElementById(id);
    if (!message) {
      if (node) { node.remove(); }
      field.classList.remove("has-error");
      input.removeAttribute("aria-invalid");
      return;
    }
    if (!node) {
      node = document.createElement("p");
      node.className = "field-error";
      node.id = id;
      field.appendChild(node);
    }
    node.textContent = message;
    field.classList.add("has-error");
    input.setAttribute("aria-invalid", "true");
    var described = (input.getAttribute("aria-describedby") || "").split(" ");
    if (described.indexOf(id) === -1) { described.push(id); }
    input.setAttribute("aria-describedby", described.join(" ").trim());
  }

  var number = document.querySelector("[data-card-number]");
  var brandOut = document.querySelector("[data-card-brand]");
  if (number) {
    number.addEventListener("input", function () {
      var d = digits(number.value).slice(0, 19);
      number.value = d.replace(/(\d{4})(?=\d)/g, "$1 ");
      if (brandOut) {
        var name = brand(d);
        brandOut.setAttribute("data-brand", name.toLowerCase());
        brandOut.textContent = name;  /* read out by screen readers; the mark is drawn by CSS */
      }
    });
    number.addEventListener("blur", function () {
      var d = digits(number.value);
      setError(number, d && !luhn(d) ? "That card number is not valid." : "");
    });
  }

  var expiry = document.querySelector("[data-card-expiry]");
  if (expiry) {
    expiry.addEventListener("input", function (event) {
      var d = digits(expiry.value).slice(0, 6);  /* MMYY or MMYYYY */
      if (event.inputType === "deleteContentBackward") { return; }
      expiry.value = d.length > 2 ? d.slice(0, 2) + "/" + d.slice(2) : (d.length === 2 ? d + "/" : d);
    });
    expiry.addEventListener("blur", function () {
      var m = /^(\d{1,2})\s*\/?\s*(\d{2}|\d{4})$/.exec(expiry.value.trim());
      var now = new Date();
      var bad = "";
      if (expiry.value && !m) { bad = "Enter the expiry as MM/YY, e.g. 12/30."; }
      else if (m) {
        var month = parseInt(m[1], 10), year = parseInt(m[2], 10);
        if (year < 100) { year += 2000; }
        if (month < 1 || month > 12) { bad = "Enter the expiry month (01–12)."; }
        else if (year < now.getFullYear() || (year === now.getFullYear() && month < now.getMonth() + 1)) {
          bad = "This card has expired.";
        }
      }
      setError(expiry, bad);
    });
  }

  var cvc = document.querySelector("[data-card-cvc]");
  if (cvc) {
    cvc.addEventListener("input", function () { cvc.value = digits(cvc.value).slice(0, 4); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-pay-form]"), function (form) {
    form.addEventListener("submit", function (event) {
      var button = form.querySelector("[data-pay-button]");
      if (form.dataset.submitted === "1") { event.preventDefault(); return; }
      form.dataset.submitted = "1";
      if (button) {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        button.textContent = "Processing…";
      }
    });
  });

  /* One panel per rail: show the chosen rail's, hide the others (without JavaScript every
     panel shows, and the server reads the fields of the rail that was chosen). */
  var radios = document.querySelectorAll("input[name=rail]");
  var showPanel = function () {
    Array.prototype.forEach.call(radios, function (radio) {
      var panel = document.getElementById("rail-panel-" + radio.value);
      if (!panel) { return; }
      panel.hidden = !radio.checked;
      Array.prototype.forEach.call(panel.querySelectorAll("input, select"), function (input) {
        input.disabled = !radio.checked;
      });
    });
  };
  if (radios.length) {
    document.documentElement.classList.add("js");
    Array.prototype.forEach.call(radios, function (radio) {
      radio.addEventListener("change", showPanel);
    });
    showPanel();
  }

  /* Copy buttons (the transfer's account, the USSD code), and the countdown of an
     asynchronous rail's instructions. */
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "Copied";
        window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
      });
    });
  });
  var countdown = document.querySelector("[data-countdown]");
  if (countdown) {
    var until = Date.parse(countdown.getAttribute("datetime"));
    var render = function () {
      var left = Math.max(0, Math.round((until - Date.now()) / 1000));
      countdown.textContent = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
      if (left > 0) { window.setTimeout(render, 1000); }
    };
    render();
  }

  /* Framed by the inline SDK, embed.js polls instead and ends the overlay on completion. */
  var framed = window.self !== window.top && document.body.hasAttribute("data-embed-origins");
  var poll = document.querySelector("[data-poll-status]");
  if (poll && window.fetch && !framed) {
    var url = poll.getAttribute("data-poll-status");
    var tick = function () {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          var data = body && body.data;
          if (!data || data.status === "processing") { window.setTimeout(tick, 1500); return; }
          if (data.status === "completed" && data.redirectUrl) { window.location.assign(data.redirectUrl); }
          else { window.location.reload(); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    };
    window.setTimeout(tick, 1000);
  }
}());
