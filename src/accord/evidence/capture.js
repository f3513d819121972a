/*
 * Accord capture: records an offer journey in the customer's browser as evidence.
 *
 * A provider adds one tag to each page of its offer flow, and `data-accord-accept` or
 * `data-accord-decline` to the buttons (or links) that decide:
 *
 *   <script src="https://ACCORD/capture.js" data-offer="OFFER_ID" data-token="CAPTURE_TOKEN"
 *           data-contact="CONTACT_ID (optional)" data-screen="SCREEN NAME (optional)"></script>
 *
 * It posts to Accord (POST /api/capture/OFFER/events, with the offer's capture token):
 * - a screen on each page load, and whenever an element marked `data-accord-screen="NAME"`
 *   becomes visible or the page calls `AccordCapture.screen("NAME")`: the page's HTML with
 *   every field's current value, tick and selection written in, without scripts or event
 *   handlers, and the list of fields with their labels;
 * - each tick and untick of a checkbox or radio button, and each change of a text field,
 *   select or text area (one per pause in typing);
 * - the outcome, accepted or declined, once (or `AccordCapture.accept()` / `.decline()`).
 * Password fields (and fields marked `data-accord-mask`) never leave the browser: their
 * values are blanked in the HTML, the field list and the changes.
 *
 * Events are numbered per offer across page loads (the counter lives in sessionStorage), so
 * Accord stores each once however often it is sent. Events not yet acknowledged stay queued
 * in sessionStorage too: the next page of the flow sends what an earlier one could not.
 * A second tab on the same offer counts from 0 as well: Accord answers a number it holds
 * for another event with 409 and the next free number (`next`), and the tab numbers its
 * unacknowledged events again from there and sends them again.
 */
(() => {
  "use strict";
  if (window.AccordCapture) return; // included twice: the first copy does the work

  const tag = document.currentScript || document.querySelector("script[data-offer][src*='/capture.js']");
  const config = tag ? tag.dataset : {};
  if (!config.offer || !config.token) {
    console.error("Accord capture: the script tag needs data-offer and data-token; nothing is recorded");
    return;
  }
  const ACCORD = new URL(tag.src, location.href).origin; // where this script came from
  const ENDPOINT = `${ACCORD}/api/capture/${encodeURIComponent(config.offer)}/events`;
  const KEY = `accord-capture:${config.offer}`;
  const KEEPALIVE_BUDGET = 60 * 1024; // fetch keepalive allows 64 KiB in flight per page
  const BATCH_BYTES = 1024 * 1024, BATCH_EVENTS = 200; // an ordinary request (Accord takes 500)
  const TYPING_PAUSE_MS = 800; // a change is recorded once typing pauses this long
  const FIELDS = "input, select, textarea";
  const SKIPPED_TYPES = new Set(["hidden", "submit", "button", "reset", "image"]);
  const DECIDERS = "[data-accord-accept], [data-accord-decline]";
  const clip = (text, max) => (text == null ? text : String(text).slice(0, max));
  const size = (event) => new TextEncoder().encode(JSON.stringify(event)).length;

  // --- the journey's state, shared by the pages of one tab ----------------------------------

  // Read from sessionStorage at every use, not cached: a page restored from the back/forward
  // cache must not reuse numbers a later page has taken.
  let memory = { next: 0, decided: false, queue: [] }; // this page's copy
  let queueStored = true; // false while the queue does not fit in sessionStorage
  function load() {
    try {
      const head = JSON.parse(sessionStorage.getItem(`${KEY}:n`) || "null");
      if (head && Number.isInteger(head.next) && head.next >= memory.next) { // never go back
        const queue = queueStored ? JSON.parse(sessionStorage.getItem(`${KEY}:queue`) || "[]") : memory.queue;
        memory = { next: head.next, decided: !!head.decided, queue };
      }
    } catch (e) { /* storage disabled: this page's copy stands */ }
    return memory;
  }
  function save(state) {
    memory = state;
    const head = JSON.stringify({ next: state.next, decided: state.decided });
    try {
      sessionStorage.setItem(`${KEY}:n`, head);
      sessionStorage.setItem(`${KEY}:queue`, JSON.stringify(state.queue));
      queueStored = true;
    } catch (e) {
      // Full: unsent events stay in this page only, but the counter must be kept, or a later
      // page would reuse numbers and its events be taken for ones already stored.
      queueStored = false;
      try {
        sessionStorage.removeItem(`${KEY}:queue`);
        sessionStorage.setItem(`${KEY}:n`, head);
      } catch (e2) { /* disabled */ }
    }
  }

  // An event's `id` is the number it was first given: it stays when the event is numbered
  // again after a conflict, so an answer to a request sent before still finds its events.
  // It never leaves the browser.
  const idOf = (event) => event.id ?? event.n;
  const wire = ({ id, ...event }) => event;

  /** Append one event to the journey; nothing is recorded after the outcome. */
  function record(type, fields) {
    const state = load();
    if (state.decided || stopped) return;
    state.queue.push({ id: state.next, n: state.next, type, at: new Date().toISOString(), ...fields });
    state.next += 1;
    state.decided = type === "accepted" || type === "declined";
    save(state);
  }

  // --- sending -------------------------------------------------------------------------------

  let sending = false, stopped = false, retryTimer = null, failures = 0, keepaliveBytes = 0;
  let conflicts = 0; // numbering conflicts in a row
  const flushing = new Set(); // ids of events sent with keepalive and not yet answered

  /** The queued events (not already on their way) that fit in `budget` bytes, in order. */
  function pick(budget, skipTooBig) {
    const batch = [];
    let bytes = 0;
    for (const event of load().queue) {
      if (flushing.has(idOf(event))) continue;
      const s = size(event);
      if (batch.length >= BATCH_EVENTS) break;
      if (bytes + s > budget && (batch.length || skipTooBig)) {
        if (skipTooBig) continue; // it waits for the next page; the rest still goes now
        break;
      }
      batch.push(event);
      bytes += s;
    }
    return { batch, bytes };
  }

  async function post({ batch, bytes }, keepalive) {
    if (keepalive) keepaliveBytes += bytes;
    try {
      const response = await fetch(ENDPOINT, {
        method: "POST",
        mode: "cors",
        credentials: "omit", // the token is the only credential: no cookies of Accord's
        keepalive,
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${config.token}` },
        body: JSON.stringify({ events: batch.map(wire) }),
      });
      return await answered(response, batch);
    } catch (e) {
      return false; // the network: try again
    } finally {
      if (keepalive) keepaliveBytes -= bytes;
    }
  }

  /** Drop from the queue the events of `batch` (as numbered when sent) Accord has. */
  function acknowledged(batch, received) {
    const on = new Set(received || []);
    const ids = new Set(batch.filter((e) => on.has(e.n)).map(idOf));
    const state = load();
    state.queue = state.queue.filter((e) => !ids.has(idOf(e)));
    save(state);
    return on;
  }

  /** Another tab (or browser) numbered events of this offer too, and Accord holds the
   *  numbers for its events: number every unacknowledged event again from `next`, in
   *  order. One Accord took under its old number meanwhile is known by its content. */
  function renumber(next) {
    const state = load();
    let n = next;
    for (const event of state.queue) {
      event.id = idOf(event);
      event.n = n++;
    }
    state.next = Math.max(state.next, n);
    save(state);
  }

  /** Read Accord's answer: true when settled, false to try again later. */
  async function answered(response, batch) {
    let body = await response.json().catch(() => ({}));
    if (response.ok) {
      const received = acknowledged(batch, body.received);
      failures = conflicts = 0;
      if (batch.every((e) => received.has(e.n))) return true;
      body = "Accord did not acknowledge every event sent";
    } else if (response.status >= 500 || response.status === 408 || response.status === 429) {
      return false;
    } else if (response.status === 409 && Number.isInteger(body.next) && body.next >= 0) {
      acknowledged(batch, body.received);
      renumber(body.next);
      conflicts += 1;
      return conflicts <= 20; // send again at once; should the tabs keep colliding, back off
    }
    // Any other refusal (a wrong token, an unknown offer, events after the outcome, a bad
    // event) will not change by asking again: stop, and leave nothing for later pages.
    stopped = true;
    console.error(`Accord capture: Accord refused the events (${response.status}); capture stops`, body);
    save({ ...load(), queue: [] });
    return true;
  }

  /** Send the queue in order, one request at a time, retrying with backoff. */
  async function send() {
    if (sending || stopped || retryTimer) return;
    const next = pick(BATCH_BYTES, false);
    if (!next.batch.length) return;
    // Interactions go with keepalive, so they arrive even if the page navigates away
    // meanwhile; screens go without (keepalive's budget is small).
    const screens = next.batch.some((e) => e.type === "screen");
    sending = true;
    const done = await post(next, !screens && keepaliveBytes + next.bytes < KEEPALIVE_BUDGET);
    sending = false;
    if (done) return send();
    failures += 1;
    const delay = Math.min(60000, 1000 * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
    retryTimer = setTimeout(() => { retryTimer = null; send(); }, delay);
  }

  /** The page is going away (or the outcome is in): send what fits with keepalive now.
   *  Accord orders a journey by n, not by arrival, so the outcome may overtake a screen. */
  function flushNow() {
    commitAllTyping();
    if (stopped) return;
    const next = pick(KEEPALIVE_BUDGET - keepaliveBytes, true);
    if (!next.batch.length) return;
    next.batch.forEach((e) => flushing.add(idOf(e)));
    post(next, true).finally(() => { next.batch.forEach((e) => flushing.delete(idOf(e))); send(); });
  }

  // --- fields and screens --------------------------------------------------------------------

  const isBox = (el) => el.type === "checkbox" || el.type === "radio";
  const isMasked = (el) => el.type === "password" || el.hasAttribute("data-accord-mask");
  const isField = (el) => el instanceof Element && el.matches(FIELDS) && !SKIPPED_TYPES.has(el.type);
  const kindOf = (el) => (el.tagName === "INPUT" ? el.type : el.tagName.toLowerCase());

  function textOf(node) {
    const copy = node.cloneNode(true);
    copy.querySelectorAll("select, textarea, script, style").forEach((x) => x.remove());
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  /** The label a person sees for a field: <label for>, a wrapping label, or ARIA. */
  function labelOf(el) {
    let text = Array.from(el.labels || [], textOf).filter(Boolean).join(" ");
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
    if (!text) text = ids.map((id) => document.getElementById(id)).filter(Boolean).map(textOf).join(" ");
    if (!text) text = (el.getAttribute("aria-label") || "").trim();
    return clip(text, 1000) || null;
  }

  /** A field's name: its name, else its id, else its place among the page's fields. */
  function nameOf(el) {
    const place = () => Array.prototype.indexOf.call(document.querySelectorAll(FIELDS), el);
    return clip(el.name || el.id || `${el.tagName.toLowerCase()}[${place()}]`, 200);
  }

  function valueOf(el) {
    if (isMasked(el)) return "";
    if (el.tagName === "SELECT") return Array.from(el.selectedOptions, (o) => o.value).join(", ");
    if (el.type === "file") return Array.from(el.files || [], (f) => f.name).join(", ");
    return clip(el.value, 10000);
  }

  /** Write a live field's state into its copy, so the HTML shows what the customer saw. */
  function freeze(el, copy) {
    if (el.tagName === "TEXTAREA") copy.textContent = isMasked(el) ? "" : el.value;
    else if (el.tagName === "SELECT") {
      Array.from(copy.options).forEach((o, i) => o.toggleAttribute("selected", el.options[i].selected));
    } else if (isBox(el)) copy.toggleAttribute("checked", el.checked);
    else if (isMasked(el) || el.type === "file") copy.removeAttribute("value");
    else copy.setAttribute("value", el.value);
  }

  let current = null, pageScreen = null; // the screen on show, and this page's own

  /** Record the page as shown now, as the screen `name`. */
  function snapshot(name) {
    if (stopped || load().decided) return;
    commitAllTyping();
    current = clip(name, 200);
    const copy = document.documentElement.cloneNode(true);
    const copies = copy.querySelectorAll(FIELDS);
    const form = [];
    document.querySelectorAll(FIELDS).forEach((el, i) => {
      freeze(el, copies[i]);
      if (SKIPPED_TYPES.has(el.type) || form.length >= 1000) return; // Accord takes 1000
      const entry = { name: nameOf(el), type: kindOf(el), label: labelOf(el), value: valueOf(el) };
      if (isBox(el)) entry.checked = el.checked;
      if (isMasked(el)) entry.masked = true;
      form.push(entry);
    });
    // Evidence is inert: no scripts (this tag, with its token, among them), no handlers.
    copy.querySelectorAll("script").forEach((s) => s.remove());
    for (const el of copy.querySelectorAll("*")) {
      for (const { name: attr } of Array.from(el.attributes)) if (/^on/i.test(attr)) el.removeAttribute(attr);
    }
    const doctype = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "";
    const url = clip(location.href, 2000), title = clip(document.title, 500);
    record("screen", { name: current, url, title, html: doctype + copy.outerHTML, form });
    send();
  }

  /** A page's own name for itself: the last part of its path, else its title. */
  function nameFromUrl() {
    const last = location.pathname.replace(/\/+$/, "").split("/").pop().replace(/\.(html?|php|aspx?)$/, "");
    return last || document.title || "page";
  }

  // Single-page flows: a section marked data-accord-screen that becomes visible is a screen;
  // when the one on show hides again (a dialog closes), the screen under it is current again.
  const visible = (el) =>
    el.isConnected && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const shown = new Set(); // visible sections, in the order they appeared
  let checkTimer = null;
  function checkSections(recordNew = true) {
    clearTimeout(checkTimer);
    checkTimer = null;
    const appeared = [], hidden = [];
    for (const el of shown) {
      if (!visible(el)) { hidden.push(el); shown.delete(el); }
    }
    for (const el of document.querySelectorAll("[data-accord-screen]")) {
      if (!shown.has(el) && visible(el)) { appeared.push(el); shown.add(el); }
    }
    if (!recordNew) return;
    appeared.forEach((el) => snapshot(el.dataset.accordScreen));
    if (!appeared.length && hidden.some((el) => el.dataset.accordScreen === current)) {
      current = [...shown].pop()?.dataset.accordScreen || pageScreen;
    }
  }
  // A section that became visible before an interaction is recorded before it.
  const settle = () => checkTimer && checkSections();

  // --- interactions and the outcome ----------------------------------------------------------

  const typing = new Map(); // field -> timer of a change not yet recorded
  const lastValue = new WeakMap();
  const screenOf = (el) => clip(el.closest("[data-accord-screen]")?.dataset.accordScreen, 200) || current;
  const fieldEvent = (el, value) => ({ screen: screenOf(el), field: nameOf(el), label: labelOf(el), value });

  function commitTyping(el) {
    clearTimeout(typing.get(el));
    typing.delete(el);
    const value = valueOf(el);
    if (!isMasked(el) && lastValue.get(el) === value) return;
    lastValue.set(el, value);
    record("change", fieldEvent(el, value));
    send();
  }
  function commitAllTyping() { [...typing.keys()].forEach(commitTyping); }

  document.addEventListener("input", (e) => {
    const el = e.target;
    if (!isField(el) || isBox(el)) return;
    settle();
    if (el.tagName === "SELECT") return commitTyping(el);
    clearTimeout(typing.get(el));
    typing.set(el, setTimeout(() => commitTyping(el), TYPING_PAUSE_MS));
  }, true);

  document.addEventListener("change", (e) => {
    const el = e.target;
    if (!isField(el)) return;
    settle();
    if (isBox(el)) {
      record(el.checked ? "tick" : "untick", fieldEvent(el, clip(el.value, 10000)));
      send();
    } else if (typing.has(el)) commitTyping(el); // leaving the field ends its typing
  }, true);

  function decide(kind, screen) {
    settle();
    commitAllTyping();
    const fields = { screen: screen || current };
    if (config.contact) fields.contact = config.contact; // who decides, when the page knows
    record(kind, fields);
    flushNow(); // before the page navigates away; its own navigation goes on
  }
  const outcomeOf = (el) => (el.hasAttribute("data-accord-accept") ? "accepted" : "declined");

  // A submit button decides when its form is submitted, i.e. once the browser's checks have
  // passed (a click on an invalid form decides nothing); any other marked element on click.
  document.addEventListener("click", (e) => {
    const el = e.target instanceof Element && e.target.closest(DECIDERS);
    if (el && !(el.form && el.type === "submit")) decide(outcomeOf(el), screenOf(el));
  }, true);
  document.addEventListener("submit", (e) => {
    const el = [e.submitter, e.target].find((x) => x?.matches(DECIDERS));
    if (el) decide(outcomeOf(el), screenOf(el));
  }, true);

  addEventListener("pagehide", flushNow);
  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && flushNow());
  addEventListener("online", () => { clearTimeout(retryTimer); retryTimer = null; send(); });
  // Back to a page kept in the back/forward cache: it is shown again, so it is a screen again.
  addEventListener("pageshow", (e) => e.persisted && snapshot(current));

  function start() {
    if (load().decided) return send(); // only what earlier pages left unsent
    checkSections(false); // sections visible at load are part of this page's screen
    pageScreen = clip(config.screen || [...shown][0]?.dataset.accordScreen || nameFromUrl(), 200);
    snapshot(pageScreen);
    const changed = () => { checkTimer ??= setTimeout(checkSections, 50); };
    new MutationObserver(changed).observe(document.documentElement, {
      subtree: true, childList: true, attributes: true, attributeFilter: ["class", "style", "hidden", "open"],
    });
  }

  window.AccordCapture = Object.freeze({
    /** Record the page as shown now as the screen `name` (default: the one on show). */
    screen: (name) => snapshot(name || current || pageScreen || nameFromUrl()),
    accept: () => decide("accepted"),
    decline: () => decide("declined"),
    /** Send what is queued now, e.g. before a navigation the page makes itself. */
    flush: flushNow,
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
  else start();
})();
