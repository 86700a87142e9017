// pummel report: draws the charts that the page's JSON (#pummel-data) describes, with uPlot.
//
// What each chart shows — data, units, colours — is decided on the Rust side
// (crates/pummel-report/src/html/chart.rs); this script only turns one chart
// description into uPlot options, for every chart of every page. It makes no
// network request and needs nothing but uPlot, inlined above it.
(function () {
  "use strict";

  var PX = function () { return window.devicePixelRatio || 1; };
  var data = JSON.parse(document.getElementById("pummel-data").textContent);
  var charts = data.charts || [];
  document.body.setAttribute("data-charts-expected", String(charts.length));

  // ---- numbers as the tables write them -------------------------------------------------
  function sig3(v) {
    var a = Math.abs(v);
    var d = a >= 100 || a === 0 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(a)));
    return String(Number(v.toFixed(d)));
  }
  function thousands(n) { return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function fmtMs(v) {
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a < 1) return sig3(v * 1000) + " µs";
    if (a < 1000) return sig3(v) + " ms";
    return sig3(v / 1000) + " s";
  }
  function fmtSeconds(v) {
    var s = Math.round(v);
    if (Math.abs(v - s) > 0.01) return sig3(v) + "s";
    if (s < 60) return s + "s";
    var m = Math.floor(s / 60), r = s % 60;
    if (m < 60) return m + "m" + (r ? (r < 10 ? "0" : "") + r + "s" : "");
    return Math.floor(m / 60) + "h" + (m % 60 < 10 ? "0" : "") + (m % 60) + "m";
  }
  function fmtRate(v) { return Math.abs(v) >= 1000 ? thousands(v) : sig3(v); }
  function fmtCount(v) { return Math.abs(v) >= 1000 ? thousands(v) : sig3(v); }
  function fmtPercent(v) { return sig3(v) + "%"; }
  function fmtNines(v) {
    // 0 → 0%, 1 → 90%, 2 → 99%, 2.5 → 99.68% …
    var p = 100 * (1 - Math.pow(10, -v));
    if (v === 0) return "0%";
    if (Number.isInteger(Math.round(v * 1e6) / 1e6)) return String(Number(p.toFixed(Math.max(0, Math.round(v) - 2)))) + "%";
    return String(Number(p.toFixed(Math.max(0, Math.ceil(v) - 1)))) + "%";
  }
  function formatter(unit, labels) {
    switch (unit) {
      case "ms": return fmtMs;
      case "s": return fmtSeconds;
      case "per_s": return fmtRate;
      case "percent": return fmtPercent;
      case "nines": return fmtNines;
      case "run": return function (v) { var l = labels && labels[Math.round(v)]; return l == null ? "" : l; };
      default: return fmtCount;
    }
  }

  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16 & 255) + "," + (n >> 8 & 255) + "," + (n & 255) + "," + a + ")";
  }

  // Whole-number ticks (runs of a trend; nines of a percentile axis).
  function integerSplits(u, axisIdx, min, max) {
    var out = [];
    for (var i = Math.ceil(min); i <= Math.floor(max); i++) out.push(i);
    return out;
  }

  // A y axis starts at zero: a chart of latency or throughput that starts
  // elsewhere exaggerates every change.
  function fromZero(u, min, max) {
    return uPlot.rangeNum(0, max > 0 ? max : 1, 0.1, true);
  }

  function axisSize(fmt) {
    return function (u, values) {
      var longest = 0;
      (values || []).forEach(function (v) { longest = Math.max(longest, String(v).length); });
      return Math.max(40, 16 + longest * 7);
    };
  }

  var AXIS = { stroke: "#667085", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#e4e7ec", width: 1, size: 4 } };

  function drawMarker(m, fmt) {
    return function (u) {
      var x = Math.round(u.valToPos(m.x, "x", true));
      var ctx = u.ctx, px = PX();
      ctx.save();
      ctx.strokeStyle = "#b42318";
      ctx.fillStyle = "#b42318";
      ctx.lineWidth = 1.5 * px;
      ctx.setLineDash([5 * px, 4 * px]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.font = "600 " + Math.round(12 * px) + "px system-ui, sans-serif";
      var label = m.label || fmt(m.x);
      var w = ctx.measureText(label).width;
      var tx = x + 6 * px + w > u.bbox.left + u.bbox.width ? x - 6 * px - w : x + 6 * px;
      ctx.fillText(label, tx, u.bbox.top + 14 * px);
      ctx.restore();
    };
  }

  function options(c, width) {
    var xf = formatter(c.x.unit, c.x.labels);
    var scales = { x: { time: false } };
    if (c.x.log) { scales.x.distr = 3; scales.x.log = c.x.log; }
    // One point is no line: give it room around it and draw it as a dot.
    var single = c.x.values.length === 1;
    if (single && !c.x.log) {
      scales.x.auto = false;
      scales.x.range = [c.x.values[0] - 1, c.x.values[0] + 1];
    } else if (c.x.unit === "run" || c.kind === "bars" && !c.x.log) {
      scales.x.range = function (u, min, max) { return [min - 0.5, max + 0.5]; };
    }
    var xAxis = Object.assign({}, AXIS, {
      label: c.x.label, labelSize: 20, labelGap: 0,
      values: function (u, splits) { return splits.map(function (v) { return v == null ? "" : xf(v); }); }
    });
    if (c.x.unit === "run" || c.x.unit === "nines") xAxis.splits = integerSplits;
    if (c.x.unit === "s") xAxis.incrs = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
    if (c.x.unit === "run") xAxis.grid = { show: false };
    var axes = [xAxis];
    c.y.forEach(function (y, i) {
      var key = "y" + i, yf = formatter(y.unit);
      scales[key] = { range: fromZero };
      axes.push(Object.assign({}, AXIS, {
        scale: key, label: y.label, labelSize: 18, side: i === 0 ? 3 : 1,
        grid: i === 0 ? AXIS.grid : { show: false },
        values: function (u, splits) { return splits.map(function (v) { return v == null ? "" : yf(v); }); },
        size: axisSize(yf)
      }));
    });
    var series = [{ label: c.x.label, value: function (u, v) { return v == null ? "–" : xf(v); } }];
    c.series.forEach(function (s) {
      var yf = formatter((c.y[s.axis] || c.y[0]).unit);
      var o = {
        label: s.label, scale: "y" + s.axis, stroke: s.color, width: 2,
        value: function (u, v) { return v == null ? "–" : yf(v); },
        points: { show: s.points || single, size: 7, fill: "#fff", width: 2 }
      };
      if (s.dash) o.dash = [6, 4];
      if (s.fill) o.fill = alpha(s.color, 0.10);
      if (c.kind === "bars") {
        o.paths = uPlot.paths.bars({ size: [0.82, 64], align: 0 });
        o.fill = alpha(s.color, 0.55);
        o.width = 1;
        o.points = { show: false };
      }
      series.push(o);
    });
    var opts = {
      width: width, height: 240, scales: scales, axes: axes, series: series,
      legend: { live: true }, cursor: { focus: { prox: 24 } }, focus: { alpha: 0.35 },
      padding: [12, 28, 0, 4]
    };
    if (c.sync) opts.cursor.sync = { key: "pummel-time" };
    if (c.marker) opts.hooks = { draw: [drawMarker(c.marker, xf)] };
    return opts;
  }

  var drawn = [];
  function widthOf(el) { return Math.max(240, Math.floor(el.getBoundingClientRect().width)); }

  charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    if (!el) return;
    if (typeof uPlot === "undefined") {
      el.innerHTML = '<p class="missing">This chart needs uPlot, which is missing from this file.</p>';
      return;
    }
    var columns = [c.x.values].concat(c.series.map(function (s) { return s.values; }));
    var u = new uPlot(options(c, widthOf(el)), columns, el);
    drawn.push({ u: u, el: el });
  });
  document.body.setAttribute("data-charts-drawn", String(drawn.length));

  // Follow the width of the page (window resizes, the print layout).
  function fit() {
    drawn.forEach(function (d) {
      var w = widthOf(d.el);
      if (Math.abs(w - d.u.width) > 1) d.u.setSize({ width: w, height: 240 });
    });
  }
  var pending = 0;
  window.addEventListener("resize", function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(fit);
  });
  window.addEventListener("beforeprint", fit);
  window.addEventListener("afterprint", fit);
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    if (print.addEventListener) print.addEventListener("change", fit);
  }
})();
