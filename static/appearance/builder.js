/* The builder's live preview: as the merchant edits, reload the preview frames
   with the form's values in the query string (debounced). Nothing is saved
   until the merchant presses Save or Publish; the server validates every value. */
(function () {
  "use strict";
  var form = document.querySelector("[data-builder-form]");
  var section = document.querySelector("[data-preview-url]");
  if (!form || !section) { return; }
  var base = section.getAttribute("data-preview-url");
  var frames = document.querySelectorAll("[data-preview-frame]");
  var timer = null;

  function refresh() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.querySelectorAll("[data-preview]"), function (field) {
      params.append(field.name, field.value);
    });
    var url = base + "?" + params.toString();
    Array.prototype.forEach.call(frames, function (frame) { frame.src = url; });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 350);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
}());
