/* Signing in or out returns to the page as it is now: some pages rewrite their address in place
   (/warnings?id=… follows the selected row), so the navigation's sign-in link and the sign-out form's
   "next" follow the address bar at the moment they are used. */
(function () {
  function here() { return window.location.pathname + window.location.search; }
  function lang() {
    var p = new URLSearchParams(window.location.search).get('lang');
    return p === 'en' ? 'en' : 'zh';
  }
  function follow(event) {
    var target = event.target;
    if (!target || !target.closest) { return; }
    var link = target.closest('#nav-sign-in');
    if (link) {
      link.setAttribute('href', '/login?next=' + encodeURIComponent(here()) + '&lang=' + lang());
      return;
    }
    var form = target.closest('form.nav-sign-out');
    if (form) {
      var next = form.querySelector('input[name="next"]');
      if (next) { next.value = here(); }
    }
  }
  ['pointerdown', 'focusin', 'click', 'contextmenu', 'submit'].forEach(function (type) {
    document.addEventListener(type, follow, true);
  });
}());
