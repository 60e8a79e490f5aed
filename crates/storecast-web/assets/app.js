// storecast page script: sign-out; on the store view explanations, what-if, CSRF header. No inline scripts.
(function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|; )(?:__Host-)?storecast_csrf=([^;]*)/);
    return m ? m[1] : "";
  }
  var printNow = document.getElementById("print-now");
  if (printNow) printNow.addEventListener("click", function () { window.print(); });
  var signout = document.getElementById("signout");
  if (signout) signout.addEventListener("click", function () {
    fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } })
      .then(function () { window.location.href = "/login"; });
  });
  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.status); return j; }); });
  }
  // Background job and provisional model: poll until the full model serves, then drop the
  // banners (the page's figures are the provisional model's until a reload).
  var jobBanner = document.getElementById("job");
  var provisionalBanner = document.getElementById("provisional");
  if (jobBanner || provisionalBanner) {
    var poll = window.setInterval(function () {
      fetch("/api/v1/job", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          if (jobBanner && s.banner) jobBanner.textContent = s.banner;
          if (jobBanner && !s.banner) { jobBanner.remove(); jobBanner = null; }
          if (provisionalBanner && !s.provisional) {
            provisionalBanner.textContent = "The full model " + s.model_version + " now serves: reload the page for its figures.";
            provisionalBanner.id = "swapped";
            provisionalBanner = null;
          }
          if (!jobBanner && !provisionalBanner) window.clearInterval(poll);
        })
        .catch(function () {});
    }, 3000);
  }
  // Exception list: acknowledge a store with a note.
  document.querySelectorAll("form.ack-form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var note = form.querySelector(".ack-note").value;
      postJson("/api/v1/exceptions/" + form.getAttribute("data-store") + "/ack", { note: note })
        .then(function () { window.location.reload(); })
        .catch(function (err) { form.querySelector(".ack-note").setCustomValidity(String(err.message || err)); form.reportValidity(); });
    });
  });
  // Alerts: acknowledge with a note.
  document.querySelectorAll("form.alert-ack").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = form.querySelector(".ack-note");
      postJson("/api/v1/alerts/" + form.getAttribute("data-alert") + "/ack", { note: input.value })
        .then(function () { window.location.reload(); })
        .catch(function (err) { input.setCustomValidity(String(err.message || err)); input.reportValidity(); });
    });
  });
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  // Actuals: the file goes as the body; the answer lists every problem by line and column.
  var actuals = document.getElementById("actuals-form");
  if (actuals) actuals.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("actuals-file").files[0];
    var out = document.getElementById("actuals-result");
    if (!file) return;
    var q = new URLSearchParams({ name: file.name });
    var correct = document.getElementById("actuals-correct").value.trim();
    var odd = document.getElementById("actuals-implausible").value.trim();
    if (correct) q.set("correct", correct);
    if (odd) q.set("accept_implausible", odd);
    out.replaceChildren(el("p", "checking " + file.name + "…", "muted"));
    fetch("/api/v1/actuals?" + q.toString(), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "text/csv", "X-CSRF-Token": csrf() }, body: file
    }).then(function (r) { return r.json(); }).then(function (a) {
      out.replaceChildren(el("p", a.message || a.error, a.stored ? "ok" : "error"));
      if (a.stored) { out.firstChild.id = "actuals-stored"; if (a.alerts_raised) out.appendChild(el("p", a.alerts_raised + " new alert(s): see Alerts.")); }
      else out.firstChild.id = "actuals-refused";
      if (a.findings && a.findings.length) {
        var t = el("table"); t.id = "actuals-findings";
        var h = el("tr"); ["line", "column", "store", "check", "problem"].forEach(function (c) { h.appendChild(el("th", c)); }); t.appendChild(h);
        a.findings.forEach(function (f) {
          var tr = el("tr");
          [f.line, f.column, f.store, f.rule, f.message].forEach(function (v) { tr.appendChild(el("td", v === null || v === undefined ? "" : String(v))); });
          t.appendChild(tr);
        });
        out.appendChild(t);
      }
    }).catch(function (err) { out.replaceChildren(el("p", String(err.message || err), "error")); });
  });
  // Registry: promote or roll back after a confirmation on the page.
  var confirmBox = document.getElementById("confirm");
  if (confirmBox) {
    var pending = null;
    var result = document.getElementById("registry-result");
    var ask = function (text, action) {
      pending = action; document.getElementById("confirm-text").textContent = text; confirmBox.hidden = false;
    };
    document.querySelectorAll("button.promote").forEach(function (b) {
      b.addEventListener("click", function () {
        var v = b.getAttribute("data-version");
        ask("Promote " + v + "? The server will serve it at once.", "/api/v1/models/" + encodeURIComponent(v) + "/promote");
      });
    });
    document.getElementById("rollback").addEventListener("click", function () {
      ask("Roll back to the version active before the current one?", "/api/v1/models/rollback");
    });
    document.getElementById("confirm-no").addEventListener("click", function () { confirmBox.hidden = true; pending = null; });
    document.getElementById("confirm-yes").addEventListener("click", function () {
      if (!pending) return;
      var reason = document.getElementById("confirm-reason").value.trim();
      var url = pending; pending = null; confirmBox.hidden = true;
      result.replaceChildren(el("p", "switching…", "muted"));
      postJson(url, url.endsWith("/promote") && reason ? { reason: reason } : {})
        .then(function () { window.location.reload(); })
        .catch(function (err) { result.replaceChildren(el("p", String(err.message || err), "error")); });
    });
  }
  var page = document.getElementById("store-page");
  if (!page) return;
  var store = page.getAttribute("data-store");
  function eur(v) { return window.storecastNumber(Math.round(v), 0) + " €"; }
  function text(el, t) { el.textContent = t; return el; }
  function driverRows(panel, drivers, scale) {
    drivers.slice().sort(function (a, b) { return Math.abs(b.euro) - Math.abs(a.euro); }).forEach(function (d) {
      if (Math.abs(d.euro) < 0.5) return;
      var row = document.createElement("div"); row.className = "driver-row driver";
      row.appendChild(text(document.createElement("span"), d.label));
      var bar = document.createElement("div"); bar.className = "driver-bar " + (d.euro >= 0 ? "pos" : "neg");
      bar.style.width = Math.min(100, Math.abs(d.euro) / scale * 100).toFixed(1) + "%";
      var holder = document.createElement("div"); holder.appendChild(bar); row.appendChild(holder);
      row.appendChild(text(document.createElement("span"), (d.euro >= 0 ? "+" : "") + eur(d.euro)));
      panel.appendChild(row);
    });
  }
  // The explanation as a waterfall: from a usual day, each driver's euros, to the forecast.
  function waterfall(panel, e) {
    var labels = ["usual day"], ranges = [[0, e.baseline]], colors = ["#2e6fd8"], run = e.baseline;
    e.drivers.filter(function (d) { return Math.abs(d.euro) >= 0.5; }).forEach(function (d) {
      labels.push(d.label); ranges.push([run, run + d.euro]);
      colors.push(d.euro >= 0 ? "#2f9e44" : "#c92a2a"); run += d.euro;
    });
    labels.push("forecast"); ranges.push([0, e.forecast]); colors.push("#1d2430");
    var fig = document.createElement("figure"); fig.className = "chart";
    var box = document.createElement("div"); box.className = "chart-box";
    var canvas = document.createElement("canvas"); canvas.id = "explain-waterfall"; canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "From a usual day of " + eur(e.baseline) + " to the forecast of " + eur(e.forecast) + ", euros by driver (listed above)");
    box.appendChild(canvas); fig.appendChild(box);
    var spec = document.createElement("script"); spec.type = "application/json"; spec.className = "chart-spec";
    spec.setAttribute("data-for", "explain-waterfall");
    spec.textContent = JSON.stringify({ kind: "bar", title: "From a usual day to the forecast, € by driver", y_label: "€ per day",
      labels: labels, series: [{ name: "€", values: [], ranges: ranges, colors: colors }] });
    fig.appendChild(spec); panel.appendChild(fig);
    if (window.storecastRenderCharts) window.storecastRenderCharts(fig);
  }
  function showError(panel, msg) {
    panel.innerHTML = "";
    panel.appendChild(text(document.createElement("h3"), "Error"));
    panel.appendChild(text(document.createElement("p"), msg));
  }
  // Explanations.
  document.querySelectorAll("#days button.why").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var tr = btn.closest("tr"); var date = tr.getAttribute("data-date");
      document.querySelectorAll("#days tr.selected").forEach(function (r) { r.classList.remove("selected"); });
      tr.classList.add("selected");
      var panel = document.getElementById("explain-panel");
      fetch("/api/v1/stores/" + store + "/explain?date=" + date, { credentials: "same-origin" })
        .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.status); return j; }); })
        .then(function (e) {
          panel.innerHTML = "";
          panel.appendChild(text(document.createElement("h3"), "Why " + eur(e.forecast) + " on " + date + "?"));
          var weekday = new Date(date + "T00:00:00Z").toLocaleDateString("en-GB", { weekday: "long", timeZone: "UTC" });
          var usual = document.createElement("p"); usual.id = "explain-baseline";
          usual.appendChild(text(document.createElement("b"), eur(e.baseline)));
          usual.appendChild(document.createTextNode(": a usual " + weekday + " for this store in this season (the chain's average day " + eur(e.chain_baseline) + " moved by " +
            e.usual_day.map(function (d) { return d.label + " " + (d.euro >= 0 ? "+" : "") + eur(d.euro); }).join(", ") + "). From there:"));
          panel.appendChild(usual);
          var scale = e.drivers.reduce(function (m, d) { return Math.max(m, Math.abs(d.euro)); }, 1);
          driverRows(panel, e.drivers, scale);
          waterfall(panel, e);
          // The answer comes into view where it is (beside the table, or below it on a tablet).
          panel.scrollIntoView({ block: "nearest" });
          var total = document.createElement("p"); total.className = "explain-total";
          total.appendChild(text(document.createElement("b"), "= " + eur(e.forecast)));
          panel.appendChild(total);
        })
        .catch(function (err) { showError(panel, String(err.message || err)); });
    });
  });
  // What-if toggles.
  document.querySelectorAll("#days button.toggle").forEach(function (btn) {
    btn.addEventListener("click", function () {
      btn.classList.toggle("on"); btn.classList.toggle("changed");
      if (btn.classList.contains("promo-toggle")) btn.textContent = btn.classList.contains("on") ? "promo" : "—";
      else btn.textContent = btn.classList.contains("on") ? "open" : "closed";
    });
  });
  function changes() {
    var out = [];
    document.querySelectorAll("#days tr[data-date]").forEach(function (tr) {
      var c = { date: tr.getAttribute("data-date") }; var any = false;
      var p = tr.querySelector("button.promo-toggle.changed");
      if (p) { c.promo = p.classList.contains("on"); any = true; }
      var o = tr.querySelector("button.open-toggle.changed");
      if (o) { c.open = o.classList.contains("on"); any = true; }
      if (any) out.push(c);
    });
    return out;
  }
  var delta = document.getElementById("whatif-delta");
  document.getElementById("whatif-run").addEventListener("click", function () {
    var body = changes(); var panel = document.getElementById("whatif-panel");
    if (!body.length) { delta.textContent = "toggle a day first"; return; }
    fetch("/api/v1/stores/" + store + "/whatif", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ changes: body })
    })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.error || r.status); return j; }); })
      .then(function (w) {
        delta.textContent = (w.delta_eur >= 0 ? "+" : "") + eur(w.delta_eur) + " (" + window.storecastPct(w.delta_pct) + ") over six weeks";
        var after = {}; w.after.forEach(function (d) { after[d.date] = d; });
        var before = {}; w.before.forEach(function (d) { before[d.date] = d; });
        document.querySelectorAll("#days tr[data-date]").forEach(function (tr) {
          var d = tr.getAttribute("data-date"); var cell = tr.querySelector("td.whatif");
          var a = after[d], b = before[d];
          if (!a || !b) return;
          var diff = a.sales - b.sales;
          cell.textContent = Math.abs(diff) < 0.5 ? "" : eur(a.sales) + " (" + (diff >= 0 ? "+" : "") + eur(diff) + ")";
          cell.className = "num whatif " + (diff > 0.5 ? "up" : diff < -0.5 ? "down" : "");
        });
        panel.innerHTML = "";
        panel.appendChild(text(document.createElement("h3"), "What-if: " + delta.textContent));
        var scale = w.drivers.reduce(function (m, d) { return Math.max(m, Math.abs(d.euro)); }, 1);
        driverRows(panel, w.drivers, scale);
      })
      .catch(function (err) { showError(panel, String(err.message || err)); });
  });
  document.getElementById("whatif-reset").addEventListener("click", function () { window.location.reload(); });
  // Overrides: a day or a week, an estimate or a change, a reason; the page reloads with the new plan.
  var form = document.getElementById("override-form");
  if (form) {
    var scope = document.getElementById("ov-scope");
    var msg = document.getElementById("ov-msg");
    scope.addEventListener("change", function () {
      document.getElementById("ov-day-label").hidden = scope.value !== "day";
      document.getElementById("ov-week-label").hidden = scope.value !== "week";
    });
    document.querySelectorAll("#days tr[data-date] td.plan").forEach(function (td) {
      td.addEventListener("click", function () {
        var d = td.closest("tr").getAttribute("data-date"); var sel = document.getElementById("ov-date");
        if (Array.prototype.some.call(sel.options, function (o) { return o.value === d; })) { scope.value = "day"; scope.dispatchEvent(new Event("change")); sel.value = d; }
      });
    });
    var send = function (clear, confirmed) {
      var body = { scope: scope.value, date: scope.value === "day" ? document.getElementById("ov-date").value : document.getElementById("ov-week").value, clear: clear, confirm: !!confirmed };
      if (!clear) {
        body.kind = document.getElementById("ov-kind").value;
        body.value = parseFloat(document.getElementById("ov-value").value);
        body.reason = document.getElementById("ov-reason").value;
        body.note = document.getElementById("ov-note").value;
      }
      msg.className = "muted"; msg.textContent = "saving…";
      fetch("/api/v1/stores/" + store + "/overrides", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify(body)
      }).then(function (r) {
        return r.json().then(function (j) {
          if (r.ok) { window.location.reload(); return; }
          msg.className = "error"; msg.textContent = j.error || String(r.status);
          if (r.status === 409) {
            // Outside the model's 95% band: kept only when the manager confirms.
            var keep = document.createElement("button");
            keep.type = "button"; keep.id = "ov-confirm"; keep.textContent = "Keep this plan";
            keep.addEventListener("click", function () { send(false, true); });
            msg.appendChild(document.createTextNode(" ")); msg.appendChild(keep);
          }
        });
      }).catch(function (err) { msg.className = "error"; msg.textContent = String(err.message || err); });
    };
    form.addEventListener("submit", function (ev) { ev.preventDefault(); send(false); });
    document.getElementById("ov-clear").addEventListener("click", function () { send(true); });
  }
})();
