// Moves the reindex progress bar; reloads the page (with the report) once the build ends.
(function () {
  var box = document.getElementById("reindex");
  if (!box || box.dataset.status !== "running") return;
  var bar = document.getElementById("reindex-progress");
  var stage = document.getElementById("reindex-stage-name");
  var count = document.getElementById("reindex-count");
  function poll() {
    fetch("/reindex/status", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.status !== "running") { window.location.reload(); return; }
        bar.max = s.total || 1;
        bar.value = s.done;
        stage.textContent = s.stage;
        count.textContent = s.done + "/" + s.total;
        setTimeout(poll, 400);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 400);
})();
