// skillcert live proctoring on the candidate's page: one WebSocket per page with heartbeat,
// reconnect with backoff, resume (the server re-sends state and queued commands on every
// connect), integrity events as evidence, and the supervisor's messages shown at once.
// Answers never travel here: they stay idempotent htmx POSTs (see app.js and web/ws.py).
(function () {
  "use strict";

  var HEARTBEAT_MS = 10000;
  var SILENCE_MS = 25000;       // no frame for this long: the connection is dead, reconnect
  var MAX_BACKOFF_MS = 15000;
  var MAX_QUEUE = 50;
  var FINAL_CODES = [4001, 4401, 4403, 4404, 4409];  // superseded, not signed in, forbidden, not found, not active

  function start() {
    var root = document.getElementById("proctor");
    if (!root || !window.WebSocket) return;
    var socket = null, attempts = 0, heartbeat = null, lastFrame = 0, stopped = false;
    var queue = [];
    var connection = root.querySelector("[data-testid=proctor-connection]");

    // One id per browser tab, kept across the tab's page loads: moving to the next question
    // reconnects from the same tab, which the server must not take for a second connection.
    function tabId() {
      var id = null;
      try { id = window.sessionStorage.getItem("skillcert-tab"); } catch (e) { /* storage off */ }
      if (!id) {
        id = Math.random().toString(36).slice(2, 12).replace(/[^a-z0-9]/g, "") || "tab";
        try { window.sessionStorage.setItem("skillcert-tab", id); } catch (e) { /* storage off */ }
      }
      return id;
    }

    function url() {
      return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.proctorUrl +
        "?tab=" + encodeURIComponent(tabId());
    }

    function setConnection(state) { connection.dataset.state = state; }

    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(message));
      } else if (message.type !== "heartbeat") {
        queue.push(message);  // evidence from while offline is sent on reconnect
        if (queue.length > MAX_QUEUE) queue.shift();
      }
    }

    function report(kind, detail) { send({type: "integrity", kind: kind, detail: detail || {}}); }

    function connect() {
      if (stopped) return;
      setConnection(attempts ? "offline" : "connecting");
      socket = new WebSocket(url());
      socket.onopen = function () {
        attempts = 0;
        lastFrame = Date.now();
        setConnection("online");
        var pending = queue; queue = [];
        pending.forEach(send);
        heartbeat = window.setInterval(function () {
          if (Date.now() - lastFrame > SILENCE_MS) { socket.close(); return; }
          send({type: "heartbeat"});
        }, HEARTBEAT_MS);
      };
      socket.onmessage = function (event) {
        lastFrame = Date.now();
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        handle(message);
      };
      socket.onclose = function (event) {
        window.clearInterval(heartbeat);
        if (stopped) return;
        if (FINAL_CODES.indexOf(event.code) >= 0) {
          if (event.code === 4409) window.location.assign(root.dataset.resultUrl);
          if (event.code === 4401) window.location.assign("/login?next=" + encodeURIComponent(location.pathname));
          setConnection("offline");
          return;
        }
        setConnection("offline");
        attempts += 1;
        // exponential backoff with jitter, so a restarted server is not hit by every page at once
        var delay = Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempts - 1));
        window.setTimeout(connect, delay / 2 + Math.random() * delay / 2);
      };
    }

    function seen(commandId) {
      var key = "skillcert-commands-" + root.dataset.sitting, ids = [];
      try { ids = JSON.parse(window.sessionStorage.getItem(key) || "[]"); } catch (e) { ids = []; }
      if (ids.indexOf(commandId) >= 0) return true;
      ids.push(commandId);
      try { window.sessionStorage.setItem(key, JSON.stringify(ids.slice(-100))); } catch (e) { /* storage off */ }
      return false;
    }

    function show(id, text) {
      var box = document.getElementById(id);
      if (!box) return;
      var slot = box.querySelector(".proctor-text");
      if (slot && text !== undefined) slot.textContent = text || "";
      box.hidden = false;
    }

    function hide(id) { var box = document.getElementById(id); if (box) box.hidden = true; }

    function applyState(state) {
      if (window.skillcertTimer) window.skillcertTimer.update(state);
      if (state.paused) show("proctor-paused"); else hide("proctor-paused");
      if (state.status === "submitted") ended("");
    }

    function ended(reason) {
      stopped = true;
      show("proctor-ended", reason);
      if (socket) socket.close();
      window.setTimeout(function () { window.location.assign(root.dataset.resultUrl); }, 3000);
    }

    function handle(message) {
      if (message.type === "state") {
        applyState(message);
      } else if (message.type === "command") {
        // Delivery is at least once (a page lost right after a send gets it again): show once.
        if (!seen(message.id)) command(message);
        send({type: "ack", command: message.id});
      } else if (message.type === "superseded") {
        stopped = true;
        show("proctor-superseded");
      }
    }

    function command(message) {
      if (message.kind === "warned") {
        show("proctor-warning", message.reason);
      } else if (message.kind === "paused") {
        applyState(message);
        show("proctor-paused", message.reason);
      } else if (message.kind === "resumed") {
        applyState(message);
        if (window.skillcertTimer) window.skillcertTimer.announce(root.dataset.textResumed);
      } else if (message.kind === "time_extended") {
        applyState(message);
        var text = root.dataset.textExtended.replace("{m}", message.minutes);
        show("proctor-warning", text);
        if (window.skillcertTimer) window.skillcertTimer.announce(text);
      } else if (message.kind === "accommodation_changed") {
        applyState(message);  // the deadline moved with the candidate's recorded extra time
        if (window.skillcertTimer) window.skillcertTimer.announce(root.dataset.textExtended.replace("{m}", message.minutes));
      } else if (message.kind === "terminated") {
        if (window.skillcertTimer) window.skillcertTimer.update(message);
        ended(message.reason);
      }
    }

    root.addEventListener("click", function (event) {
      if (event.target.matches("[data-dismiss]")) event.target.closest("[role=alert]").hidden = true;
    });

    // ---- integrity events: evidence for the supervisor, never an automatic penalty ----
    document.addEventListener("visibilitychange", function () {
      report(document.hidden ? "page_hidden" : "page_shown");
    });
    window.addEventListener("blur", function () { report("window_blurred"); });
    window.addEventListener("focus", function () { report("window_focused"); });
    document.addEventListener("fullscreenchange", function () {
      if (!document.fullscreenElement) report("fullscreen_exited");
    });
    ["copy", "cut", "paste", "contextmenu"].forEach(function (name) {
      document.addEventListener(name, function (event) {
        event.preventDefault();
        report(name === "contextmenu" ? "context_menu_opened" : name === "paste" ? "paste_attempted" : "copy_attempted");
      });
    });
    var offlineSince = null;
    window.addEventListener("offline", function () { offlineSince = Date.now(); report("went_offline"); });
    window.addEventListener("online", function () {
      report("came_online", offlineSince ? {offline_ms: Date.now() - offlineSince} : {});
      offlineSince = null;
    });
    // A second tab of the same sitting: the tabs find each other over a BroadcastChannel.
    if (window.BroadcastChannel) {
      var tabs = new BroadcastChannel("skillcert-sitting-" + root.dataset.sitting);
      tabs.onmessage = function (event) {
        if (event.data === "hello") tabs.postMessage("here");
        else if (event.data === "here") report("second_tab_opened");
      };
      tabs.postMessage("hello");
    }

    connect();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
