// Progressive only: without JavaScript the whole table is shown and every link works.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var table = document.getElementById("event-table");
  if (!form || !table) { return; }
  form.hidden = false;
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-kind]"));
  var gaps = Array.prototype.slice.call(table.querySelectorAll("tbody tr.gap"));
  var count = document.getElementById("filter-count");
  function value(name) {
    var el = form.elements[name];
    return el ? (el.type === "checkbox" ? el.checked : el.value) : "";
  }
  function apply() {
    var lane = value("lane"), kind = value("kind"), tunnel = value("tunnel"), evidence = value("evidence");
    var shown = 0;
    rows.forEach(function (r) {
      var ok = (!lane || r.getAttribute("data-lane") === lane) &&
               (!kind || r.getAttribute("data-kind") === kind) &&
               (!tunnel || r.getAttribute("data-tunnel") === tunnel) &&
               (!evidence || r.classList.contains("is-evidence"));
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var filtered = Boolean(lane || kind || tunnel || evidence);
    gaps.forEach(function (g) { g.hidden = filtered; });
    count.textContent = filtered ? shown + " of " + rows.length + " rows" : "";
  }
  function reset() { form.reset(); apply(); }
  form.addEventListener("change", apply);
  // A link into the table always shows its row, whatever the filters hide.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var row = id && document.getElementById(id);
    if (row && row.hidden) { reset(); row.scrollIntoView(); }
  }
  window.addEventListener("hashchange", reveal);
  // Clicking a lane's name in the chart shows that flow's rows.
  Array.prototype.forEach.call(document.querySelectorAll("a.lane-link"), function (a) {
    a.addEventListener("click", function () {
      if (form.elements.lane) { form.elements.lane.value = a.getAttribute("data-lane"); apply(); }
    });
  });
  apply();
})();
