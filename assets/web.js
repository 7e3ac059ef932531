// The web shell's page, around Dioxus' LiveView glue (which runs first and
// opens the socket): when the socket drops (a server restart, a phone out
// of signal for a moment) the page says so calmly, tries again with a
// growing delay, and comes back on the same screen (the address says which)
// with the fields as they were; forms are submitted by the app, never by
// the browser (Enter in a field is the form's button).
(() => {
  "use strict";

  // Fields whose value is not given back: secrets, and what the browser
  // cannot set (files).
  const KEEP_NOT = new Set(["password", "file", "hidden", "submit", "button"]);
  const LONGEST_WAIT = 30000;
  // The server answers each ping (every 30 s): silence longer than this is
  // a dead connection that the phone did not notice.
  const SILENCE = 75000;

  const banner = document.createElement("div");
  banner.id = "connection-lost";
  banner.setAttribute("role", "status");
  banner.setAttribute("aria-live", "polite");
  banner.hidden = true;
  banner.textContent = "Connexion perdue, nouvelle tentative…";
  document.body.prepend(banner);

  let shown = document.getElementById("main"); // the screen on display
  let saved = null; // its fields, when the connection was lost
  let attempt = 0;
  let waiting = null; // the timer of the next try

  // The app's forms are handled by the app: the browser must not send
  // them itself (which would reload the page). Capturing, so this runs
  // before the app's listener, which still gets the event.
  document.addEventListener("submit", (event) => event.preventDefault(), true);

  function fields(root) {
    return Array.from(root.querySelectorAll("input, select, textarea"))
      .filter((el) => !KEEP_NOT.has((el.type || "").toLowerCase()));
  }

  // A field's key: its id; a radio button by its group and place in it;
  // otherwise its place among the fields of the screen.
  function keys(root) {
    const all = fields(root);
    const groups = {};
    return all.map((el, index) => {
      if (el.id) return ["id", el.id];
      if (el.type === "radio" && el.name) {
        groups[el.name] = (groups[el.name] ?? -1) + 1;
        return ["radio", el.name + "#" + groups[el.name]];
      }
      return ["at", el.tagName + ":" + el.type + "#" + index];
    });
  }

  function snapshot(root) {
    const all = fields(root);
    return keys(root).map(([kind, key], i) => {
      const el = all[i];
      const check = el.type === "checkbox" || el.type === "radio";
      return { kind, key, check, value: check ? el.checked : el.value, done: false };
    });
  }

  // Gives back the saved values to the fields of the new screen that
  // differ, as if typed (the app hears an input or change event). Named
  // fields first; fields known by their place only once the named ones
  // are back (they may show or hide fields).
  function restore(root) {
    if (!saved) return;
    const all = fields(root);
    const found = new Map(keys(root).map((k, i) => [k.join(":"), all[i]]));
    const named = saved.filter((s) => s.kind !== "at");
    const pending = named.some((s) => !s.done);
    for (const field of saved) {
      if (field.done || (field.kind === "at" && pending)) continue;
      const el = found.get(field.kind + ":" + field.key);
      if (!el) continue;
      field.done = true;
      if (field.check) {
        if (el.checked !== field.value) {
          el.checked = field.value;
          el.dispatchEvent(new Event("input", { bubbles: true }));
          el.dispatchEvent(new Event("change", { bubbles: true }));
        }
      } else if (el.value !== field.value) {
        el.value = field.value;
        el.dispatchEvent(new Event("input", { bubbles: true }));
        if (el.tagName === "SELECT") el.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }
    if (saved.every((s) => s.done)) saved = null;
  }

  let restoring = null;
  function restoreSoon(root) {
    clearTimeout(restoring);
    // After the screen settles (its edits come in several messages).
    restoring = setTimeout(() => restore(root), 150);
  }

  function watch(ipc, root) {
    const ws = ipc.ws;
    let last = Date.now();
    let up = false;
    let ended = false;
    const alive = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN && Date.now() - last > SILENCE) ws.close();
    }, 5000);
    ws.addEventListener("message", () => {
      last = Date.now();
      if (!up) {
        up = true;
        attempt = 0;
        if (root !== shown) swapIn(root);
      }
      if (saved) restoreSoon(root);
    });
    ws.addEventListener("close", () => {
      clearInterval(alive);
      if (ended) return;
      ended = true;
      // The glue keeps pinging its old socket: quietly.
      ws.send = () => {};
      lost(root);
    });
  }

  function swapIn(root) {
    shown.remove();
    root.id = "main";
    root.hidden = false;
    shown = root;
    banner.hidden = true;
    // Fields the new screen lacks stay unfilled: forget them in a while.
    setTimeout(() => { saved = null; }, 10000);
  }

  function lost(root) {
    if (root === shown) {
      if (!saved) saved = snapshot(root);
      // What is on screen stays readable, but cannot be used meanwhile.
      root.inert = true;
      root.classList.add("disconnected");
      banner.hidden = false;
    } else {
      root.remove();
    }
    const delay = Math.min(LONGEST_WAIT, 1000 * 2 ** attempt) * (0.75 + Math.random() / 2);
    attempt += 1;
    clearTimeout(waiting);
    waiting = setTimeout(retry, delay);
  }

  function retry() {
    clearTimeout(waiting);
    waiting = null;
    const fresh = document.createElement("div");
    fresh.hidden = true;
    shown.after(fresh);
    window.ipc = new IPC(fresh);
    watch(window.ipc, fresh);
  }

  // Back on the network, or back to the tab: try at once.
  const now = () => { if (waiting) retry(); };
  window.addEventListener("online", now);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) now(); });

  if (window.ipc) watch(window.ipc, shown);
})();
