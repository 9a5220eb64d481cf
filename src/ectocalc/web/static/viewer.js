// CT slice viewer: slider/buttons/keys step through slices; window presets; overlay toggle;
// clicking a lesion row jumps to its slice. Slices are PNGs rendered by the server.
"use strict";
(function () {
  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("viewer");
    if (!root) { return; }
    var base = root.dataset.base;
    var count = parseInt(root.dataset.count, 10);
    var index = parseInt(root.dataset.start, 10);
    var img = document.getElementById("slice");
    var slider = document.getElementById("slider");
    var label = document.getElementById("slice-label");
    var windowSel = document.getElementById("window");
    var overlay = document.getElementById("overlay");
    var rows = document.querySelectorAll("#lesions tr[data-slice]");

    function url(i) {
      return base + i + ".png?window=" + encodeURIComponent(windowSel.value) +
        "&overlay=" + (overlay.checked ? "1" : "0");
    }
    function show(i) {
      index = Math.max(0, Math.min(count - 1, i));
      img.src = url(index);
      slider.value = String(index);
      label.textContent = "slice " + (index + 1) + " / " + count;
      rows.forEach(function (row) {
        row.classList.toggle("current", parseInt(row.dataset.slice, 10) === index);
      });
      // warm the browser cache for the neighbours
      [index - 1, index + 1].forEach(function (j) {
        if (j >= 0 && j < count) { new Image().src = url(j); }
      });
    }
    slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
    document.getElementById("prev").addEventListener("click", function () { show(index - 1); });
    document.getElementById("next").addEventListener("click", function () { show(index + 1); });
    windowSel.addEventListener("change", function () { show(index); });
    overlay.addEventListener("change", function () { show(index); });
    img.addEventListener("wheel", function (e) {
      e.preventDefault();
      show(index + (e.deltaY > 0 ? 1 : -1));
    }, {passive: false});
    document.addEventListener("keydown", function (e) {
      if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") { return; }
      if (e.key === "ArrowUp" || e.key === "PageUp") { e.preventDefault(); show(index + 1); }
      if (e.key === "ArrowDown" || e.key === "PageDown") { e.preventDefault(); show(index - 1); }
    });
    rows.forEach(function (row) {
      function jump() { show(parseInt(row.dataset.slice, 10)); }
      row.addEventListener("click", jump);
      row.addEventListener("keydown", function (e) { if (e.key === "Enter") { jump(); } });
    });
    show(index);
  });
})();
