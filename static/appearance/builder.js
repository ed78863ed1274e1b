/* The builder's live preview: as the merchant edits, reload the preview frames
   with the form's values in the query string (debounced), and re-check the text
   colour's contrast (WCAG AA, 4.5:1) on the background and surface at once.
   Nothing is saved until the merchant presses Save or Publish; the server
   validates every value and says the same warnings after saving. Each preview
   frame is scaled to fit its box, whatever the screen's width. */
(function () {
  "use strict";
  var form = document.querySelector("[data-builder-form]");
  var section = document.querySelector("[data-preview-url]");
  if (!form || !section) { return; }
  var base = section.getAttribute("data-preview-url");
  var frames = document.querySelectorAll("[data-preview-frame]");
  var warnings = document.querySelector("[data-contrast-warnings]");
  var timer = null;
  var AA = 4.5;

  function channel(value) {
    var c = value / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }

  function luminance(hex) {
    var m = /^#?([0-9a-f]{6}|[0-9a-f]{3})$/i.exec((hex || "").trim());
    if (!m) { return null; }
    var h = m[1].length === 3 ? m[1].replace(/(.)/g, "$1$1") : m[1];
    var rgb = [0, 2, 4].map(function (i) { return channel(parseInt(h.substr(i, 2), 16)); });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }

  function ratio(a, b) {
    var la = luminance(a), lb = luminance(b);
    if (la === null || lb === null) { return null; }
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function field(name) { return form.querySelector("[name='" + name + "']"); }

  function labelOf(name) {
    var label = form.querySelector("label[for='id_" + name + "']");
    return label ? label.textContent.replace(/:\s*$/, "").trim().toLowerCase() : name;
  }

  function checkContrast() {
    if (!warnings || !field("text_color")) { return; }
    var text = field("text_color").value;
    var list = document.createElement("ul");
    ["background_color", "surface_color"].forEach(function (bg) {
      if (!field(bg)) { return; }
      var r = ratio(text, field(bg).value);
      if (r !== null && r < AA) {
        var item = document.createElement("li");
        item.className = "warning";
        item.textContent = "Text colour on " + labelOf(bg) + " has contrast " +
          (Math.floor(r * 100) / 100).toFixed(2) + ":1, under the 4.5:1 that WCAG AA asks for text.";
        list.appendChild(item);
      }
    });
    warnings.textContent = "";
    if (list.children.length) { warnings.appendChild(list); }
  }

  function fit() {
    Array.prototype.forEach.call(frames, function (frame) {
      var box = frame.parentNode;
      var natural = parseInt(frame.getAttribute("width"), 10);
      var tall = parseInt(frame.getAttribute("height"), 10);
      box.style.width = "";
      var room = Math.min(box.parentNode.clientWidth, natural * (natural > 400 ? 0.5 : 0.75));
      var scale = room / natural;
      frame.style.transform = "scale(" + scale + ")";
      box.style.width = room + "px";
      box.style.height = Math.round(tall * scale) + "px";
    });
  }

  function refresh() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.querySelectorAll("[data-preview]"), function (f) {
      params.append(f.name, f.value);
    });
    var url = base + "?" + params.toString();
    Array.prototype.forEach.call(frames, function (frame) { frame.src = url; });
  }

  function schedule() {
    checkContrast();
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 350);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  window.addEventListener("resize", fit);
  fit();
}());
