/* 批量增员: poll the import's status every second and move the progress bar without reloading. */
(function () {
  "use strict";

  var box = document.querySelector("[data-batch-progress]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("[data-progress-bar]");
  var progress = box.querySelector("[data-progress]");
  var result = box.querySelector("[data-result]");
  var failure = box.querySelector("[data-failure]");
  var reportLink = box.querySelector("[data-report-link]");
  var failures = 0;

  // The page gives the width in data-percent: an inline style="width: …" is refused by the
  // Content-Security-Policy, a width set from a script is not.
  function setWidth(percent) {
    var value = Math.min(100, Math.max(0, Number(percent) || 0));
    bar.style.width = value + "%";
  }

  setWidth(bar.getAttribute("data-percent"));

  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (node) {
      var name = node.getAttribute("data-field");
      if (Object.prototype.hasOwnProperty.call(data, name)) {
        node.textContent = data[name];
      }
    });
    setWidth(data.percent);
    bar.textContent = data.percent + "%";
    progress.setAttribute("aria-valuenow", String(data.percent));
    if (data.finished) {
      bar.classList.remove("progress-bar-striped", "progress-bar-animated");
    }
    if (data.status === "done") {
      if (data.report_url) {
        reportLink.setAttribute("href", data.report_url);
      }
      result.hidden = false;
    }
    if (data.status === "failed") {
      bar.classList.add("bg-danger");
      failure.hidden = false;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        show(data);
        if (!data.finished) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        // A dropped connection: keep trying, more slowly, for a while.
        failures += 1;
        if (failures < 30) {
          window.setTimeout(poll, 1000 * Math.min(failures, 5));
        }
      });
  }

  poll();
})();
