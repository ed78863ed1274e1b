/* Duro's inline SDK (GET /v1/sdk.js): the hosted checkout in an overlay on the merchant's
   site. No dependencies, no requests of its own beyond the frame.

     <script src="https://duro.example/v1/sdk.js"></script>
     Duro.open({token: "cs_test_…", onSuccess: function (r) { … }, onClose: function () { … }});

   The frame shows /checkout/<token> from the origin this script was loaded from. Messages
   cross only after a handshake: on every load of the frame the SDK posts
   {type: "duro:hello", nonce} to Duro's origin; the page answers only to this page's
   origin (if the merchant allowed it) with the same nonce. The SDK accepts a message only
   when event.origin is Duro's, event.source is its own frame and the nonce matches. It
   never posts to "*". onSuccess({sessionId, reference, status}) is a hint for the page:
   the merchant's server confirms with GET /v1/checkout/sessions/{id} before fulfilling. */
(function () {
  "use strict";

  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src, window.location.href).origin : null;
  var current = null;

  function css(node, styles) {
    Object.keys(styles).forEach(function (name) { node.style.setProperty(name, styles[name]); });
  }

  function nonce() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function close(reason, result) {
    var open = current;
    if (!open) { return; }
    current = null;
    window.removeEventListener("message", open.onMessage);
    document.removeEventListener("keydown", open.onKey, true);
    open.small.removeEventListener("change", open.fit);
    open.inerted.forEach(function (node) { node.inert = false; });
    open.root.remove();
    document.documentElement.style.overflow = open.overflow;
    if (open.opener && typeof open.opener.focus === "function") { open.opener.focus(); }
    if (reason === "success" && typeof open.options.onSuccess === "function") {
      open.options.onSuccess(result);
    } else if (reason === "close" && typeof open.options.onClose === "function") {
      open.options.onClose();
    }
  }

  function open(options) {
    options = options || {};
    if (!origin) { throw new Error("Duro: load sdk.js with a <script src> from Duro."); }
    if (typeof options.token !== "string" || !/^cs_(test|live)_[A-Za-z0-9]+$/.test(options.token)) {
      throw new Error("Duro.open: give the checkout session's token (cs_test_… or cs_live_…).");
    }
    if (current) { close("replaced"); }

    var root = document.createElement("div");
    root.setAttribute("data-duro-overlay", "");
    css(root, { position: "fixed", inset: "0", "z-index": "2147483647", display: "flex",
                "align-items": "center", "justify-content": "center",
                background: "rgba(15, 23, 42, 0.6)" });

    var dialog = document.createElement("div");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", "Checkout");
    css(dialog, { position: "relative", background: "#fff", overflow: "hidden",
                  "box-shadow": "0 20px 60px rgba(0, 0, 0, 0.35)", display: "flex",
                  "flex-direction": "column" });

    var bar = document.createElement("div");
    css(bar, { display: "flex", "justify-content": "flex-end", padding: "4px",
               background: "#f8fafc", "border-bottom": "1px solid #e2e8f0" });
    var closeButton = document.createElement("button");
    closeButton.type = "button";
    closeButton.setAttribute("aria-label", "Close checkout");
    closeButton.setAttribute("data-duro-close", "");
    closeButton.textContent = "×";
    css(closeButton, { font: "24px/1 system-ui, sans-serif", width: "44px", height: "44px",
                       border: "0", "border-radius": "8px", background: "transparent",
                       color: "#0f172a", cursor: "pointer" });
    bar.appendChild(closeButton);

    var frame = document.createElement("iframe");
    frame.title = "Duro checkout";
    frame.src = origin + "/checkout/" + encodeURIComponent(options.token);
    frame.setAttribute("allow", "payment");
    css(frame, { border: "0", width: "100%", flex: "1 1 auto", background: "#fff" });

    // Focus stays in the dialog: the rest of the page is inert, and two sentinels send
    // Tab from the dialog's ends back round to its other end.
    function sentinel(onFocus) {
      var node = document.createElement("span");
      node.tabIndex = 0;
      node.addEventListener("focus", onFocus);
      return node;
    }
    var first = sentinel(function () { frame.focus(); });
    var last = sentinel(function () { closeButton.focus(); });
    dialog.appendChild(first);
    dialog.appendChild(bar);
    dialog.appendChild(frame);
    dialog.appendChild(last);
    root.appendChild(dialog);

    var small = window.matchMedia("(max-width: 480px)");
    function fit() {
      if (small.matches) {  // a phone: the whole screen
        css(dialog, { width: "100%", height: "100%", "max-width": "none", "max-height": "none",
                      "border-radius": "0" });
      } else {
        css(dialog, { width: "440px", height: "min(760px, 94vh)", "max-width": "94vw",
                      "max-height": "94vh", "border-radius": "12px" });
      }
    }
    fit();
    small.addEventListener("change", fit);

    var state = { options: options, root: root, frame: frame, nonce: nonce(), small: small,
                  fit: fit, opener: document.activeElement, inerted: [] };

    state.onMessage = function (event) {
      var data = event.data;
      if (event.origin !== origin || event.source !== frame.contentWindow || !data ||
          data.nonce !== state.nonce) { return; }
      if (data.type === "duro:success") {
        close("success", { sessionId: data.sessionId, reference: data.reference,
                           status: data.status });
      } else if (data.type === "duro:close") {
        close("close");
      }
    };
    state.onKey = function (event) {
      if (event.key === "Escape") { event.preventDefault(); close("close"); }
    };
    frame.addEventListener("load", function () {
      // Every page the frame loads (a step, a reload) gets the hello again.
      if (current === state) {
        frame.contentWindow.postMessage({ type: "duro:hello", nonce: state.nonce }, origin);
      }
    });
    closeButton.addEventListener("click", function () { close("close"); });

    current = state;
    window.addEventListener("message", state.onMessage);
    document.addEventListener("keydown", state.onKey, true);
    Array.prototype.forEach.call(document.body.children, function (node) {
      if (!node.inert) { node.inert = true; state.inerted.push(node); }
    });
    document.body.appendChild(root);
    state.overflow = document.documentElement.style.overflow;
    document.documentElement.style.overflow = "hidden";
    closeButton.focus();
  }

  window.Duro = { open: open, close: function () { close("close"); } };
}());
