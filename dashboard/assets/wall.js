/* The wall heals itself: a heartbeat against this server. When the server cannot be reached (or a
   refresh stalls), show "reconnecting"; when it answers again, reload the page. When the screen's
   display token has been revoked (401), reload too: the server then shows "not authorised". */
(function () {
  var failures = 0;
  var lost = false;
  function beat() {
    if (!document.querySelector('.wall')) { return; }
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 4000);
    fetch('/wall/heartbeat', { cache: 'no-store', signal: controller.signal, credentials: 'same-origin' })
      .then(function (r) {
        clearTimeout(timer);
        if (r.status === 401 || r.status === 403) { window.location.reload(); return; }
        if (!r.ok) { throw new Error('status ' + r.status); }
        ok();
      })
      .catch(function () { clearTimeout(timer); fail(); });
  }
  function ok() {
    if (lost) { window.location.reload(); return; }
    failures = 0;
  }
  function fail() {
    failures += 1;
    if (failures >= 2) {
      lost = true;
      var el = document.getElementById('wall-reconnecting');
      if (el) { el.classList.add('show'); }
    }
  }
  setInterval(beat, 3000);
})();
