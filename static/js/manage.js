/* The centre dashboard: after htmx adds a row, put the keyboard focus in
   its first field. Everything works without this file. */
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    var block = event.detail.elt;
    if (!block || !block.classList || !block.classList.contains("rows-block")) return;
    var rows = block.querySelectorAll("fieldset.row");
    if (!rows.length) return;
    var first = rows[rows.length - 1].querySelector("select, input:not([type=hidden])");
    if (first) first.focus();
  });
})();
