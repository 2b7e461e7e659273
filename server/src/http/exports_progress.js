// The workspace export's progress bar: polls status.json once a second
// and updates the bar without a reload; reloads once when the export is
// finished, so the download form appears. Same-origin file, no inline code.
(function () {
  "use strict";
  var root = document.getElementById("export");
  if (!root) return;
  var url = root.getAttribute("data-status-url");
  var bar = document.getElementById("export-progress");
  var rows = document.getElementById("export-rows");
  var total = document.getElementById("export-total");
  var status = document.getElementById("export-status");
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { setTimeout(tick, 3000); return; }
        bar.value = s.percent;
        bar.textContent = s.percent + "%";
        rows.textContent = s.rows_done;
        total.textContent = s.rows_total;
        if (s.status === "done" || s.status === "failed") {
          window.location.reload();
          return;
        }
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 500);
})();
