// Draws the dashboard's charts from the figures the server put in #dashboard-data.
// Suppressed counts ("<5") arrive as null and are drawn as gaps; the tables under each chart show them.
(function () {
  "use strict";
  // Okabe–Ito hues, darkened to at least 3:1 against white (WCAG non-text contrast), told apart by
  // people with the common forms of colour blindness.
  var COLOURS = ["#0072B2", "#C04F00", "#00795C", "#AA4499", "#8A6100", "#1B1B1B"];
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function config(spec) {
    var horizontal = Boolean(spec.options.horizontal);
    var stacked = Boolean(spec.options.stacked);
    var valueAxis = {
      beginAtZero: true, stacked: stacked, ticks: { precision: 0, color: "#1b1b1b" },
      title: { display: Boolean(spec.options.y_title), text: spec.options.y_title || "", color: "#1b1b1b" },
      grid: { color: "#d8d8d8" }
    };
    var labelAxis = { stacked: stacked, ticks: { color: "#1b1b1b", autoSkip: true, maxRotation: 45 }, grid: { display: false } };
    return {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (dataset, i) {
          var colour = COLOURS[i % COLOURS.length];
          return {
            label: dataset.label, data: dataset.data, borderColor: colour,
            backgroundColor: spec.type === "line" ? colour : colour + "D9",
            borderWidth: 2, pointRadius: spec.labels.length > 60 ? 0 : 2, spanGaps: false, tension: 0
          };
        })
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: reduceMotion ? false : { duration: 300 },
        indexAxis: horizontal ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { color: "#1b1b1b" } },
          tooltip: {
            callbacks: {
              label: function (item) {
                var value = item.raw === null ? "<5 (not drawn)" : item.formattedValue;
                return item.dataset.label + ": " + value;
              }
            }
          }
        },
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis }
      }
    };
  }

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart === "undefined") { return; }
    var charts = JSON.parse(source.textContent);
    window.dashboardCharts = {};
    charts.forEach(function (spec) {
      var canvas = document.getElementById("chart-" + spec.id);
      if (canvas) { window.dashboardCharts[spec.id] = new window.Chart(canvas, config(spec)); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
