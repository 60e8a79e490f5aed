// storecast chart renderer: turns every <script type="application/json" class="chart-spec">
// into a Chart.js chart on the canvas it names. Sets window.storecastCharts (count rendered)
// and window.storecastChartErrors (messages) so tests can check every chart drew.
(function () {
  "use strict";
  var palette = ["#2e6fd8", "#e8590c", "#2f9e44", "#9c36b5", "#c92a2a", "#1098ad", "#5c940d", "#862e9c", "#495057"];
  if (window.ChartZoom && window.Chart) { window.Chart.register(window.ChartZoom); }
  // One number format with the app's: thousands separators, whole numbers without decimals
  // (a count axis reads 1, 2, 3, not 1.000), "12.3%", and "€" on a euro axis.
  // The page's locale (<html data-locale>, the server's setting) writes every figure: a
  // German chain reads 1.234,5 € and 12,3 %.
  var LOCALE = document.documentElement.getAttribute("data-locale") || "en-GB";
  var PCT = /^de/i.test(LOCALE) ? " %" : "%";
  function num(v, d) { return v.toLocaleString(LOCALE, { minimumFractionDigits: d, maximumFractionDigits: d }); }
  window.storecastNumber = num;
  window.storecastPct = function (share) { return num(share * 100, 1) + PCT; };
  function fmt(spec, v) {
    if (v === null || v === undefined || isNaN(v)) return "";
    if (spec.percent) return num(v * 100, 1) + PCT;
    var a = Math.abs(v), s;
    if (a >= 1000 || Number.isInteger(v)) s = num(Math.round(v), 0);
    else if (a >= 10) s = num(v, 1);
    else s = v.toLocaleString(LOCALE, { maximumFractionDigits: 3 });
    return /€/.test(spec.y_label || "") ? s + " €" : s;
  }
  // Whiskers for intervals on bar and point series, drawn after the datasets.
  var whiskers = {
    id: "storecastWhiskers",
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx;
      chart.data.datasets.forEach(function (ds, i) {
        if (!ds._intervals || ds._band || ds._shaded) return;
        var meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        var y = chart.scales[meta.yAxisID];
        ctx.save();
        ctx.strokeStyle = "#1d2430";
        ctx.lineWidth = 1.2;
        meta.data.forEach(function (el, j) {
          var iv = ds._intervals[j];
          if (!iv) return;
          var x = el.x, lo = y.getPixelForValue(iv[0]), hi = y.getPixelForValue(iv[1]);
          ctx.beginPath();
          ctx.moveTo(x, lo); ctx.lineTo(x, hi);
          ctx.moveTo(x - 4, lo); ctx.lineTo(x + 4, lo);
          ctx.moveTo(x - 4, hi); ctx.lineTo(x + 4, hi);
          ctx.stroke();
        });
        ctx.restore();
      });
      if (chart._refY !== undefined && chart._refY !== null) {
        var ys = chart.scales.y, yy = ys.getPixelForValue(chart._refY);
        ctx.save(); ctx.strokeStyle = "#868e96"; ctx.setLineDash([5, 4]);
        ctx.beginPath(); ctx.moveTo(chart.chartArea.left, yy); ctx.lineTo(chart.chartArea.right, yy); ctx.stroke();
        ctx.restore();
      }
    }
  };
  function build(spec) {
    var datasets = [];
    spec.series.forEach(function (s, i) {
      var kind = s.kind || spec.kind;
      var color = s.color || palette[i % palette.length];
      var hasIv = s.intervals && s.intervals.length > 0;
      if (kind === "line" && hasIv) {
        // Shaded band: upper then lower filled to the previous dataset.
        datasets.push({ type: "line", label: s.name + " (band)", data: s.intervals.map(function (v) { return v ? v[1] : null; }),
          borderWidth: 0, pointRadius: 0, backgroundColor: color + "33", fill: false, _band: true, _legendHidden: true });
        datasets.push({ type: "line", label: s.name + " (band low)", data: s.intervals.map(function (v) { return v ? v[0] : null; }),
          borderWidth: 0, pointRadius: 0, backgroundColor: color + "33", fill: "-1", _band: true, _legendHidden: true });
      }
      var ds = { label: s.name, type: kind === "scatter" ? "scatter" : kind, borderColor: color,
        backgroundColor: kind === "bar" ? color + "cc" : color, borderWidth: kind === "bar" ? 0 : 2,
        pointRadius: kind === "line" ? (s.values.length > 60 ? 0 : 2) : 3, spanGaps: false };
      if (s.dashed) ds.borderDash = [6, 4];
      if (kind === "scatter") {
        ds.data = s.points.map(function (p) { return { x: p[0], y: p[1] }; });
        if (spec.log_axes) ds.showLine = true;
      }
      else { ds.data = s.values; }
      // Floating bars (a waterfall): each bar from its range's start to its end.
      if (s.ranges) { ds.data = s.ranges; ds._ranges = s.ranges; }
      if (s.colors) ds.backgroundColor = s.colors;
      // Intervals show in the series' own tooltip line (the band datasets stay out of it).
      if (hasIv) ds._intervals = s.intervals;
      if (hasIv && kind === "line") ds._shaded = true;
      datasets.push(ds);
    });
    var scatter = spec.kind === "scatter";
    var opts = {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: scatter ? "nearest" : "index", intersect: scatter },
      plugins: {
        title: { display: !!spec.title, text: spec.title, font: { size: 14 } },
        legend: { labels: { filter: function (item, data) { return !data.datasets[item.datasetIndex]._legendHidden; } } },
        tooltip: { filter: function (item) { return !item.dataset._band; }, callbacks: { label: function (c) {
          var ds = c.dataset; var v = scatter ? c.parsed.y : c.parsed.y;
          if (ds._ranges) {
            // A waterfall step reads as its change; its first and last bars as levels.
            var r = ds._ranges[c.dataIndex], end = c.dataIndex === 0 || c.dataIndex === ds._ranges.length - 1;
            return c.label + ": " + (end ? fmt(spec, r[1]) : (r[1] >= r[0] ? "+" : "") + fmt(spec, r[1] - r[0]));
          }
          var t = ds.label + ": " + fmt(spec, v);
          if (ds._intervals && ds._intervals[c.dataIndex]) { var iv = ds._intervals[c.dataIndex]; t += " (" + fmt(spec, iv[0]) + " – " + fmt(spec, iv[1]) + ")"; }
          return t; } } }
      },
      scales: {
        x: { type: scatter ? "linear" : "category", title: { display: !!spec.x_label, text: spec.x_label } },
        y: { beginAtZero: !!spec.y_from_zero, title: { display: !!spec.y_label, text: spec.y_label },
             ticks: { callback: function (v) { return fmt(spec, v); } } }
      }
    };
    if (spec.log_axes) { opts.scales.x.type = "logarithmic"; opts.scales.y.type = "logarithmic"; }
    if (spec.zoom && window.ChartZoom) {
      opts.plugins.zoom = { zoom: { wheel: { enabled: true }, drag: { enabled: true }, mode: "x" } };
    }
    return { type: scatter ? "scatter" : (spec.kind === "bar" ? "bar" : "line"), data: { labels: spec.labels, datasets: datasets }, options: opts, plugins: [whiskers] };
  }
  function renderAll(root) {
    var nodes = (root || document).querySelectorAll("script.chart-spec");
    window.storecastCharts = window.storecastCharts || {};
    window.storecastChartErrors = window.storecastChartErrors || [];
    nodes.forEach(function (node) {
      var id = node.getAttribute("data-for");
      try {
        var spec = JSON.parse(node.textContent);
        var canvas = document.getElementById(id);
        if (!canvas) throw new Error("no canvas " + id);
        if (canvas._chart) canvas._chart.destroy();
        var chart = new window.Chart(canvas, build(spec));
        chart._refY = spec.reference_y;
        canvas._chart = chart;
        window.storecastCharts[id] = chart.data.datasets.reduce(function (n, d) { return n + d.data.length; }, 0);
      } catch (e) {
        window.storecastChartErrors.push(id + ": " + e.message);
        if (window.console) console.error("chart " + id + ": " + e.message);
      }
    });
  }
  window.storecastRenderCharts = renderAll;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { renderAll(); });
  else renderAll();
})();
