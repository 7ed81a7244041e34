/* 单位社保网上服务大厅 — small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  // Move focus to a form's error summary so that screen readers announce it first.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) {
        return;
      }
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) {
        return;
      }
      event.preventDefault();
      // Show the label with the field: scroll to it, then focus without jumping again.
      var label = document.querySelector("label[for='" + field.id + "']");
      (label || field).scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
    });
  }
})();

/* Wide lists on a phone (static/css/portal.css, .portal-stack-table): each cell shows its
   column's name before it. Cells that carry data-label already keep theirs. */
(function () {
  "use strict";

  document.querySelectorAll("table.portal-stack-table").forEach(function (table) {
    var headers = Array.prototype.map.call(
      table.querySelectorAll("thead th"),
      function (th) { return th.textContent.trim(); }
    );
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (!cell.hasAttribute("data-label") && headers[index] && !cell.hasAttribute("colspan")) {
          cell.setAttribute("data-label", headers[index]);
        }
      });
    });
  });
})();

/* The header's menu on a phone (a Bootstrap collapse, whose button keeps aria-expanded): Escape
   closes it from its button or from inside it, and gives the focus back to the button. */
(function () {
  "use strict";

  var toggler = document.querySelector(".portal-nav .navbar-toggler");
  var menu = document.getElementById("portal-nav-menu");
  if (!toggler || !menu || !window.bootstrap) {
    return;
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !menu.classList.contains("show")) {
      return;
    }
    if (document.activeElement !== toggler && !menu.contains(document.activeElement)) {
      return;
    }
    window.bootstrap.Collapse.getOrCreateInstance(menu, { toggle: false }).hide();
    toggler.focus();
  });
})();
