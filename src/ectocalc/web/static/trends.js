// Trend plots of the patient page: one uPlot chart per series, data from #trend-data.
"use strict";
(function () {
  function fmtDate(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 10);
  }
  function chart(host, series) {
    var box = document.createElement("figure");
    box.className = "chart";
    var caption = document.createElement("figcaption");
    caption.textContent = series.label + (series.unit ? " (" + series.unit + ")" : "");
    box.appendChild(caption);
    host.appendChild(box);
    var width = Math.max(280, Math.min(400, host.clientWidth - 16));
    var opts = {
      width: width,
      height: 190,
      legend: {show: false},
      cursor: {drag: {x: true, y: false}},
      scales: {x: {time: true}},
      axes: [{}, {size: 56}],
      series: [
        {value: function (u, v) { return v == null ? "" : fmtDate(v); }},
        {
          label: series.label,
          stroke: "#1565c0",
          width: 2,
          points: {show: true, size: 7, fill: "#1565c0"},
          value: function (u, v) { return v == null ? "" : v + " " + series.unit; }
        }
      ]
    };
    if (series.x.length === 1) {
      // a single value still shows: pad the time axis by 30 days either side
      opts.scales.x.range = function () { return [series.x[0] - 2592000, series.x[0] + 2592000]; };
    }
    new window.uPlot(opts, [series.x, series.y], box);
  }
  window.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("trend-data");
    var host = document.getElementById("trend-charts");
    if (!source || !host || !window.uPlot) { return; }
    JSON.parse(source.textContent).forEach(function (s) { chart(host, s); });
  });
})();
