/* Before the wall's own layout arrives (Dash is still loading), a newly opened wall shows the same dark,
   branded waiting screen as the layout's #wall-waiting (its mark; the words come with the layout),
   never "Loading...". It goes as soon as the layout's own waiting screen (or the wall) is on the page. */
(function () {
  if (!/^\/wall\/?$/.test(window.location.pathname)) { return; }
  var root = document.documentElement;
  root.classList.add('wall-booting');
  function part(cls, text) {
    var el = document.createElement('div');
    el.className = cls;
    if (text) { el.textContent = text; }
    return el;
  }
  var boot = part('wall-waiting', '');
  boot.id = 'wall-boot';
  boot.appendChild(part('wall-waiting-mark', ''));
  // the words (the city's name, "receiving data") come with the layout, in the screen's language
  boot.appendChild(part('wall-waiting-title', ''));
  boot.appendChild(part('wall-waiting-text', ''));
  var bar = part('wall-waiting-bar', '');
  bar.appendChild(part('wall-waiting-bar-fill', ''));
  boot.appendChild(bar);
  function place() {
    if (document.body) { document.body.appendChild(boot); } else { setTimeout(place, 20); }
  }
  place();
  var watch = setInterval(function () {
    if (document.getElementById('wall-waiting') || document.querySelector('.wall')) {
      clearInterval(watch);
      if (boot.parentNode) { boot.parentNode.removeChild(boot); }
      root.classList.remove('wall-booting');
    }
  }, 50);
})();

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
