// Progressive only: the form works without JavaScript. This adds dropping files anywhere on
// the file box (added to those already chosen) and a "busy" note while the server analyzes.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form) { return; }
  var drop = document.getElementById("drop");
  var input = document.getElementById("files");
  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (el) { el.hidden = false; });
  function over(e) { e.preventDefault(); drop.classList.add("over"); }
  function leave() { drop.classList.remove("over"); }
  drop.addEventListener("dragover", over);
  drop.addEventListener("dragenter", over);
  drop.addEventListener("dragleave", leave);
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    leave();
    if (!e.dataTransfer || !e.dataTransfer.files.length || typeof DataTransfer === "undefined") { return; }
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (f) { all.items.add(f); });
    Array.prototype.forEach.call(e.dataTransfer.files, function (f) { all.items.add(f); });
    input.files = all.files;
  });
  form.addEventListener("submit", function () {
    document.getElementById("go").disabled = true;
    document.getElementById("busy").hidden = false;
  });
})();
