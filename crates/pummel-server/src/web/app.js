// pummel's web UI: the live charts of a run page (fed by the page's event
// stream) and reading a chosen scenario file into the new-run form.
"use strict";

(function () {
  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function chartWidth(el) {
    return Math.max(280, Math.floor(el.getBoundingClientRect().width));
  }

  function live(root) {
    var seconds = [], rps = [], errs = [], p50 = [], p90 = [], p99 = [];
    var totals = { requests: 0, errors: 0 };
    var rateEl = document.getElementById("chart-rate");
    var latEl = document.getElementById("chart-latency");
    var axes = [{ label: "s" }, {}];
    var rate = new uPlot({
      width: chartWidth(rateEl), height: 220, axes: axes, scales: { x: { time: false } },
      series: [{ label: "second" }, { label: "req/s", stroke: "#0a58ca", width: 2 },
               { label: "errors/s", stroke: "#a4161a", width: 2 }]
    }, [seconds, rps, errs], rateEl);
    var latency = new uPlot({
      width: chartWidth(latEl), height: 220, axes: [{ label: "s" }, { label: "ms" }],
      scales: { x: { time: false } },
      series: [{ label: "second" }, { label: "p50", stroke: "#146c2e", width: 2 },
               { label: "p90", stroke: "#8a4b00", width: 2 }, { label: "p99", stroke: "#a4161a", width: 2 }]
    }, [seconds, p50, p90, p99], latEl);
    root.dataset.points = "0";
    // The charts, for a test (or a curious person's console) to read what they hold.
    root.plots = { rate: rate, latency: latency };
    var dirty = false;
    // Points arrive once a second; drawing on the next frame batches a
    // replay of a long run into one redraw.
    function redraw() {
      if (!dirty) return;
      dirty = false;
      rate.setData([seconds, rps, errs]);
      latency.setData([seconds, p50, p90, p99]);
    }
    window.addEventListener("resize", function () {
      rate.setSize({ width: chartWidth(rateEl), height: 220 });
      latency.setSize({ width: chartWidth(latEl), height: 220 });
    });
    var source = new EventSource(root.dataset.events);
    source.addEventListener("point", function (e) {
      var p = JSON.parse(e.data);
      seconds.push(p.t); rps.push(p.rps); errs.push(p.errors / (p.duration_s || 1));
      p50.push(p.p50_ms); p90.push(p.p90_ms); p99.push(p.p99_ms);
      totals.requests += p.requests; totals.errors += p.errors;
      text("seconds", String(seconds.length));
      text("requests", String(totals.requests));
      text("errors", String(totals.errors));
      // The run's last, partial second would show a misleading rate.
      if (p.duration_s >= 0.5) {
        text("rate", p.rps.toFixed(1));
        text("p99", p.p99_ms.toFixed(2));
      }
      if (p.errors > 0) {
        var row = document.createElement("tr");
        [p.t, p.errors, p.requests].forEach(function (v) {
          var td = document.createElement("td"); td.textContent = String(v); row.appendChild(td);
        });
        document.getElementById("error-rows").appendChild(row);
      }
      root.dataset.points = String(seconds.length);
      dirty = true;
      window.requestAnimationFrame(redraw);
    });
    source.addEventListener("state", function (e) {
      var s = JSON.parse(e.data);
      var el = document.getElementById("state");
      el.textContent = s.state; el.className = "state state-" + s.state;
      if (s.message) text("message", s.message);
    });
    source.addEventListener("ended", function (e) {
      var s = JSON.parse(e.data);
      var el = document.getElementById("state");
      el.textContent = s.state; el.className = "state state-" + s.state;
      text("exit", String(s.exit_code));
      var verdict = document.getElementById("verdict");
      if (verdict) {
        // The same words as the server's own page (runs.rs `verdict`).
        var word = s.exit_code === 0 ? "passed" : s.exit_code === 99 ? "failed"
          : s.exit_code === 130 ? "stopped" : "error";
        verdict.textContent = word; verdict.className = "state state-" + word;
      }
      if (s.message) text("message", s.message);
      var stop = document.getElementById("stop");
      if (stop) stop.remove();
      var report = document.getElementById("report-link");
      if (report) report.hidden = false;
      root.dataset.ended = s.state;
      source.close();
    });
    source.addEventListener("failure", function (e) {
      text("message", JSON.parse(e.data));
      source.close();
    });
  }

  function scenarioFile(input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      file.text().then(function (body) {
        document.getElementById("scenario").value = body;
        document.getElementById("file_name").value = file.name;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("live");
    if (root && window.uPlot && window.EventSource) live(root);
    var file = document.getElementById("file");
    if (file) scenarioFile(file);
  });
})();
