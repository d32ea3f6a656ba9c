// The overview's charts (Chart.js), drawn from the figures the page carries as JSON
// (Django's json_script): data, not code, so nothing here needs 'unsafe-inline' in our
// Content-Security-Policy. The table under the charts has the same numbers.
(function () {
  "use strict";

  var REVENUE = "#1d5fd1";
  var ORDERS = "#c2410c";
  var LEADS = "#117a3d";

  function moneyTicks(lang, currency) {
    try {
      var compact = new Intl.NumberFormat(lang, {
        style: "currency", currency: currency, notation: "compact", maximumFractionDigits: 1,
      });
      return function (value) { return compact.format(value); };
    } catch (e) {  // a code this browser does not know: plain numbers
      return function (value) { return new Intl.NumberFormat(lang).format(value); };
    }
  }

  function options(title, scales, tooltip) {
    return {
      // Drawn at once: no animation to wait for, and none for readers who asked for less motion.
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: scales,
      plugins: {
        title: { display: true, text: title, align: "start", font: { size: 14, weight: "600" } },
        legend: { position: "bottom" },
        tooltip: tooltip ? { callbacks: tooltip } : {},
      },
    };
  }

  function xAxis() {
    return { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } };
  }

  function countAxis(position, onChart) {
    return {
      position: position, beginAtZero: true, ticks: { precision: 0 },
      grid: { drawOnChartArea: onChart },
    };
  }

  function moneyChart(canvas, data, lang) {
    var c = data.currencies.filter(function (x) { return x.code === canvas.dataset.currency; })[0];
    if (!c) return;
    var text = data.text;
    new Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          { type: "bar", label: text.revenue, data: c.revenue, yAxisID: "y", backgroundColor: REVENUE,
            borderRadius: 2, maxBarThickness: 40, order: 2 },
          // order 1: the line is drawn over the bars.
          { type: "line", label: text.orders, data: c.orders, yAxisID: "orders", borderColor: ORDERS,
            backgroundColor: ORDERS, pointRadius: 2, borderWidth: 2, order: 1 },
        ],
      },
      options: options(c.title, {
        x: xAxis(),
        y: { beginAtZero: true, ticks: { callback: moneyTicks(lang, c.code) } },
        orders: countAxis("right", false),
      }, {
        // The money as the page writes it (currency symbol and decimals of the reader's locale).
        label: function (item) {
          if (item.dataset.yAxisID === "y") return text.revenue + ": " + c.revenueText[item.dataIndex];
          return item.dataset.label + ": " + item.formattedValue;
        },
      }),
    });
  }

  function leadsChart(canvas, data) {
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{ label: data.text.leads, data: data.leads, backgroundColor: LEADS, borderRadius: 2,
          maxBarThickness: 40 }],
      },
      options: options(data.text.leads, { x: xAxis(), y: countAxis("left", true) }),
    });
  }

  function draw() {
    var source = document.getElementById("overview-data");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var lang = document.documentElement.lang || "en";
    var root = getComputedStyle(document.documentElement);
    Chart.defaults.font.family = root.fontFamily;
    Chart.defaults.color = root.getPropertyValue("--muted").trim() || "#5b6570";
    Chart.defaults.locale = lang;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.chart === "money") moneyChart(canvas, data, lang);
      else if (canvas.dataset.chart === "leads") leadsChart(canvas, data);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
