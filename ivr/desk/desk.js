"use strict";
// The desk without a framework: the page is whole without this; it keeps the numbers current
// from /desk/events, counts a wrap-up down, and reloads when the operator's own state changes.
(function () {
  const desk = document.getElementById("desk");
  if (!desk || !window.EventSource) return;
  const words = JSON.parse(desk.dataset.words);
  const shown = desk.dataset.state;
  const byId = (id) => document.getElementById(id);
  const put = (id, text) => { const el = byId(id); if (el) el.textContent = text; };
  const wait = (s) => s < 60 ? words.seconds.replace("{s}", s)
    : words.minutes_seconds.replace("{m}", Math.floor(s / 60)).replace("{s}", String(s % 60).padStart(2, "0"));
  let before = null;

  function show(line) {
    const current = line.reading === "current";
    for (const q of line.queues) {
      put("waiting-" + q.queue, current ? q.waiting : "—");
      put("ringing-" + q.queue, current ? q.ringing : "—");
      put("longest-" + q.queue, current && q.longest_wait_seconds !== null ? wait(q.longest_wait_seconds) : "—");
    }
    for (const state of Object.keys(words.states)) {
      put("count-" + state, line.operators.filter((o) => o.state === state).length);
    }
    for (const o of line.operators) {
      const cell = byId("state-" + o.id);
      if (cell) { cell.textContent = words.states[o.state]; cell.className = "state-" + o.state; }
    }
    byId("unreachable").hidden = line.reading !== "database_unreachable";
    const early = byId("not-read-yet");
    if (early) early.hidden = line.reading !== "not_yet";
    const mine = line.operators.find((o) => String(o.id) === desk.dataset.me);
    const ids = line.operators.map((o) => o.id).join(",");
    // Someone joined or left the roster, or my own state changed since the last event and
    // is not what the page shows: the page is drawn again (buttons, reason, wrap-up).
    if (before !== null && (ids !== desk.dataset.operators && ids !== before.ids
      || mine && mine.state !== before.mine && mine.state !== shown)) {
      location.reload();
    }
    before = { ids: ids, mine: mine && mine.state };
  }

  function connect() {
    const source = new EventSource(desk.dataset.events);
    source.addEventListener("line", (event) => {
      byId("live").hidden = false;
      byId("reconnecting").hidden = true;
      show(JSON.parse(event.data));
    });
    source.onerror = () => {
      byId("live").hidden = true;
      byId("reconnecting").hidden = false;
      // The browser tries again by itself, unless the answer was not a stream (503).
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }
  connect();

  const left = byId("wrap-up-left");
  if (left) {
    const until = Date.now() + Number(left.dataset.seconds) * 1000;
    const tick = setInterval(() => {
      const seconds = Math.max(0, Math.round((until - Date.now()) / 1000));
      left.textContent = words.wrap_up_left.replace("{n}", seconds);
      if (seconds === 0) clearInterval(tick);
    }, 1000);
  }

  // A press that could not be saved says so here, in the page's language, whatever answered.
  for (const form of document.querySelectorAll("form.state-change")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = new URLSearchParams(new FormData(form));
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
        .then((answer) => { if (answer.ok) location.assign(answer.url); else throw answer; })
        .catch(() => { byId("not-saved").hidden = false; });
    });
  }
})();
