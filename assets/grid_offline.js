/* Grid worker's page (/grid) on a weak network: namespace window.onemapGridOffline.
 *
 * - Registers the service worker (/sw.js, web/pwa.py) and the manifest, and hands the worker
 *   the URLs this page loaded so the page opens again without a connection.
 * - A task button pressed while offline (or while older actions still wait) does not go to the
 *   Dash callback: the action (incident, button, note, photo) is kept in IndexedDB with a key
 *   made now, and posted to POST /api/grid/actions when the connection returns, oldest first.
 *   The key makes a resend harmless (the server applies it once); a conflict (the street office
 *   closed the task meanwhile) or another refusal comes back in words and is shown. A report
 *   submitted offline is queued the same way (POST /api/grid/reports, its own key).
 * - A banner says plainly when the page is offline and how many actions wait.
 * Words come from the hidden element #grid-offline (pages/grid_tasks.offline_words). */
(function () {
  "use strict";

  var PAGE_PATH = "/grid";
  var WORDS = "grid-offline";         /* pages.grid_ids.OFFLINE */
  var REFRESH = "grid-refresh";       /* pages.grid_ids.REFRESH */
  var ROUTE = "/api/grid/actions";
  var DB = "onemap-grid-queue";
  var STORE = "actions";
  var RETRY_MS = 10000;
  var REPORTS = "/api/grid/reports";
  var state = {count: 0, sending: false, photo: null, results: [], kept: false, form: null};

  function onPage() { return window.location.pathname === PAGE_PATH; }

  /* --- the queue (IndexedDB) ---------------------------------------------------------------- */

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, {keyPath: "key"});
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(result && result.result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function waiting() {
    return run("readonly", function (store) { return store.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.at - b.at; });
    });
  }

  function keep(item) { return run("readwrite", function (store) { store.put(item); }); }
  function drop(key) { return run("readwrite", function (store) { store["delete"](key); }); }

  /* --- words and the banner ---------------------------------------------------------------- */

  function word(name) {
    var el = document.getElementById(WORDS);
    return (el && el.getAttribute("data-" + name)) || "";
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return values[name] !== undefined ? values[name] : all;
    });
  }

  function banner() {
    var el = document.getElementById("grid-offline-banner");
    if (!el) {
      el = document.createElement("div");
      el.id = "grid-offline-banner";
      el.className = "grid-offline-banner";
      el.setAttribute("role", "status");
      ["state", "count", "results"].forEach(function (part) {
        var child = document.createElement("div");
        child.className = "grid-offline-" + part;
        el.appendChild(child);
      });
      document.body.appendChild(el);
    }
    return el;
  }

  function draw() {
    if (!onPage() || !document.getElementById(WORDS)) { return; }
    var el = banner();
    var offline = !navigator.onLine;
    el.setAttribute("data-offline", offline ? "1" : "0");
    el.setAttribute("data-waiting", String(state.count));
    el.querySelector(".grid-offline-state").textContent = offline ? word("banner") :
      (state.sending ? word("sending") : "");
    el.querySelector(".grid-offline-count").textContent =
      state.count ? fill(word("waiting"), {n: state.count}) : "";
    var results = el.querySelector(".grid-offline-results");
    results.textContent = "";
    state.results.slice(-5).forEach(function (r) {
      var line = document.createElement("div");
      line.className = "grid-offline-result grid-offline-" + r.kind;
      line.setAttribute("data-event", String(r.incident));
      line.textContent = r.text;
      results.appendChild(line);
    });
    el.hidden = !(offline || state.count || state.results.length);
  }

  function recount() {
    return waiting().then(function (items) { state.count = items.length; draw(); return items; });
  }

  /* --- taking an action into the queue ------------------------------------------------------ */

  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function actionOf(button) {
    try {
      return JSON.parse(button.id).action;
    } catch (e) {
      return null;
    }
  }

  function selectedIncident() {
    var shown = document.querySelector(".grid-panel-title[data-event]");
    return shown ? parseInt(shown.getAttribute("data-event"), 10) : null;
  }

  function queueAction(button) {
    var action = actionOf(button);
    var incident = selectedIncident();
    if (!action || !incident) { return; }
    var note = document.querySelector(".grid-note");
    var item = {key: newKey(), incident: incident, action: action, at: Date.now(),
                note: note ? note.value : "", photo: state.photo, lang: word("lang")};
    state.photo = null;
    keep(item).then(function () {
      state.results.push({kind: "queued", incident: incident,
                          text: fill(word("queued"), {id: incident, action: word("act-" + action)})});
      var card = document.querySelector(".grid-task[data-event='" + incident + "']");
      if (card) { card.classList.add("grid-task-queued"); }
      return recount();
    }).then(send);
  }

  /* Capture phase, before React: while offline or while actions wait, a task button queues. */
  document.addEventListener("click", function (event) {
    if (!onPage()) { return; }
    var button = event.target.closest && event.target.closest(".grid-act");
    if (!button || button.disabled || (navigator.onLine && !state.count)) { return; }
    event.preventDefault();
    event.stopPropagation();
    queueAction(button);
  }, true);

  /* The report form as typed (a clientside callback mirrors it: pages/grid.py REPORT_FORM). */
  function form(category, description, picked) {
    state.form = {category: category, description: description, picked: picked};
    return window.dash_clientside.no_update;
  }

  function queueReport() {
    var f = state.form || {};
    var category = f.category && String(f.category);
    if (!category || category.indexOf("group:") === 0 || !f.picked) { return false; }
    var item = {kind: "report", key: newKey(), at: Date.now(), category: category,
                lon: f.picked.lon, lat: f.picked.lat, description: f.description || "",
                lang: word("lang")};
    keep(item).then(function () {
      state.results.push({kind: "queued", incident: "", text: word("report_queued")});
      return recount();
    }).then(send);
    return true;
  }

  /* A report sent while offline (or while actions wait) is queued like a task button. */
  document.addEventListener("click", function (event) {
    if (!onPage()) { return; }
    var button = event.target.closest && event.target.closest(".grid-submit");
    if (!button || button.disabled || (navigator.onLine && !state.count)) { return; }
    if (queueReport()) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  /* The photo chosen in the task panel, read as a data URL for the queue. */
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!onPage() || !input.closest || !input.closest(".grid-photo") || !input.files ||
        !input.files[0]) { return; }
    var reader = new FileReader();
    reader.onload = function () { state.photo = reader.result; };
    reader.readAsDataURL(input.files[0]);
  }, true);

  /* --- sending ------------------------------------------------------------------------------ */

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)_csrf_token=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function post(item) {
    var report = item.kind === "report";
    var body = report ?
      {key: item.key, category: item.category, lon: item.lon, lat: item.lat,
       description: item.description || null, lang: item.lang || null} :
      {key: item.key, incident: item.incident, action: item.action,
       note: item.note || null, photo: item.photo || null, lang: item.lang || null};
    return fetch(report ? REPORTS : ROUTE, {method: "POST", credentials: "same-origin",
                         headers: {"Content-Type": "application/json",
                                   "X-CSRFToken": csrfToken()},
                         body: JSON.stringify(body)});
  }

  /* One item: true when it is settled (applied, replayed or refused), false to retry later. */
  function sendOne(item) {
    return post(item).then(function (response) {
      if (response.status >= 500 || response.status === 401 || response.status === 429) {
        return false;
      }
      return response.json().then(function (answer) {
        var act = word("act-" + item.action);
        var ok = response.status === 200;
        if (item.kind === "report") {
          state.results.push({
            kind: ok ? "sent" : "refused", incident: ok ? answer.incident : "",
            text: ok ? fill(word("report_sent"), {id: answer.incident})
              : fill(word("report_refused"), {reason: answer.error})
          });
          return drop(item.key).then(function () { return true; });
        }
        state.results.push({
          kind: ok ? "sent" : (response.status === 409 ? "conflict" : "refused"),
          incident: item.incident,
          text: ok ? fill(word("sent"), {id: item.incident, action: act,
                                         status: answer.status_text || answer.status})
            : fill(word("refused"), {id: item.incident, action: act, reason: answer.error})
        });
        return drop(item.key).then(function () { return true; });
      });
    }, function () { return false; });
  }

  function send() {
    if (state.sending || !navigator.onLine) { return Promise.resolve(); }
    state.sending = true;
    draw();
    return waiting().then(function (items) {
      var chain = Promise.resolve(true);
      items.forEach(function (item) {
        chain = chain.then(function (go) { return go ? sendOne(item) : false; });
      });
      return chain;
    }).then(function () {
      state.sending = false;
      var dc = window.dash_clientside;
      if (dc && dc.set_props && document.getElementById(REFRESH)) {
        dc.set_props(REFRESH, {data: Math.floor(Date.now() / 1000)});
      }
      return recount();
    }, function () { state.sending = false; draw(); });
  }

  /* --- installing: the service worker and the manifest -------------------------------------- */

  function loadedUrls() {
    var urls = [window.location.pathname, "/_dash-layout", "/_dash-dependencies"];
    document.querySelectorAll("script[src], link[rel=stylesheet][href]").forEach(function (el) {
      urls.push(el.getAttribute("src") || el.getAttribute("href"));
    });
    (performance.getEntriesByType("resource") || []).forEach(function (entry) {
      if (entry.initiatorType === "script" || entry.initiatorType === "link" ||
          entry.initiatorType === "css") { urls.push(entry.name); }
    });
    return urls;
  }

  function install() {
    if (!document.querySelector("link[rel=manifest]")) {
      var link = document.createElement("link");
      link.rel = "manifest";
      link.href = "/manifest.webmanifest?lang=" + (word("lang") || "zh");
      document.head.appendChild(link);
    }
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "kept") {
        state.kept = true;
        document.documentElement.setAttribute("data-offline-ready", "1");
      }
    });
    navigator.serviceWorker.register("/sw.js").then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (navigator.onLine && registration.active) {
        registration.active.postMessage({type: "keep", urls: loadedUrls()});
      }
    })["catch"](function () { return null; });
  }

  /* Once the page is /grid and drawn (Dash may route to it later): install, count, send. */
  function start() {
    if (!onPage() || !document.getElementById(WORDS)) {
      setTimeout(start, 500);
      return;
    }
    install();
    recount().then(send);
  }

  window.addEventListener("online", function () { draw(); send(); });
  window.addEventListener("offline", draw);
  setInterval(function () { if (onPage() && state.count) { send(); } }, RETRY_MS);
  start();

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onemapGridOffline: {form: form}
  });
  window.onemapGridOffline = {state: state, send: send, waiting: waiting};
})();
