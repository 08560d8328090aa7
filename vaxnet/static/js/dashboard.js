// The dashboard page: draw each chart (Chart.js) from the numbers the page carries as JSON,
// above the table that holds the same numbers. Without this script the tables are the page.
(function () {
  "use strict";

  var source = document.getElementById("dashboard-charts");
  if (!source || typeof window.Chart !== "function") {
    return;
  }
  var settings = JSON.parse(source.textContent);
  var language = settings.lang || document.documentElement.lang || undefined;
  var counts = new Intl.NumberFormat(language, { maximumFractionDigits: 0 });
  var percents = new Intl.NumberFormat(language, { maximumFractionDigits: 1 });
  var colours = ["#0b5e55", "#b45309", "#1d4ed8"];
  // Labels in the page's own font, which has the glyphs of every pack language.
  window.Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.font.size = 13;
  window.Chart.defaults.color = "#374151";
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function written(unit, value) {
    if (value === null || value === undefined) {
      return "";
    }
    return unit === "pct" ? percents.format(value) + "%" : counts.format(value);
  }

  function config(spec) {
    var valueAxis = spec.horizontal ? "x" : "y";
    var labelAxis = spec.horizontal ? "y" : "x";
    var scales = {};
    scales[valueAxis] = {
      beginAtZero: true,
      ticks: {
        precision: 0,
        callback: function (value) { return written(spec.unit, value); }
      }
    };
    if (spec.unit === "pct") {
      scales[valueAxis].suggestedMax = 100;
    }
    scales[labelAxis] = { ticks: { autoSkip: true, maxRotation: 0 } };
    return {
      type: spec.kind,
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, i) {
          return {
            label: series.label,
            data: series.data,
            backgroundColor: colours[i % colours.length],
            borderColor: colours[i % colours.length]
          };
        })
      },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        maintainAspectRatio: false,
        responsive: true,
        animation: still ? false : undefined,
        scales: scales,
        plugins: {
          legend: { display: spec.series.length > 1 },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + written(spec.unit, item.raw);
              }
            }
          }
        }
      }
    };
  }

  var canvases = document.querySelectorAll("canvas[data-chart]");
  for (var i = 0; i < canvases.length; i += 1) {
    var canvas = canvases[i];
    var spec = settings.charts[canvas.getAttribute("data-chart")];
    if (!spec) {
      continue;
    }
    canvas.parentNode.hidden = false;
    new window.Chart(canvas, config(spec));
  }
})();
