// skillcert practical part: the candidate's simulation page and the supervisors' monitor.
// The server owns the run. This script only shows the state the server pushes over the
// WebSocket and sends the candidate's actions (JSON POST, committed before the reply).
// Controls are SVG elements with role=button and tabindex=0: Enter or Space opens the
// control's operations in the side panel (real buttons), Escape closes it.
(function () {
  "use strict";

  var MAX_BACKOFF_MS = 10000;
  var FINAL_CODES = [4401, 4403, 4404];

  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function formatValue(el, value) {
    var type = el.dataset.type, unit = el.dataset.unit || "";
    if (type === "bool") return value ? "\u2713" : "\u2717";
    if (type === "real") return Number(value).toFixed(1) + (unit ? " " + unit : "");
    if (type === "int") return String(value) + (unit ? " " + unit : "");
    return String(value);
  }

  // ---- the candidate's page ---------------------------------------------------------------

  function practicalPage(root) {
    var manifest = JSON.parse(document.getElementById("practical-manifest").textContent);
    var watch = root.dataset.watch === "true";
    var panel = document.getElementById("action-panel");
    var panelTitle = document.getElementById("action-panel-title");
    var buttons = document.getElementById("action-buttons");
    var statusLine = document.getElementById("action-status");
    var alarmList = document.getElementById("alarm-list");
    var connection = root.querySelector("[data-testid=practical-connection]");
    var timer = document.getElementById("practical-timer");
    var timerValue = timer.querySelector(".timer-value");
    var offset = Number(timer.dataset.serverNowMs) - Date.now();
    var deadline = Number(timer.dataset.deadlineMs);
    var lastTime = -1, ended = false, opener = null, busy = false;
    var controls = {};
    manifest.controls.forEach(function (c) { controls[c.id] = c; });
    var alarmText = {};
    manifest.alarms.forEach(function (a) { alarmText[a.id] = a.text[root.dataset.lang] || a.id; });

    function render(state, force) {
      if (!state || (!force && state.time < lastTime)) return;  // a push older than what is shown
      lastTime = state.time;
      Object.keys(state.values).forEach(function (name) {
        var value = state.values[name];
        root.querySelectorAll('[data-var="' + name + '"]').forEach(function (el) { el.textContent = formatValue(el, value); });
        root.querySelectorAll('[data-primary="' + name + '"]').forEach(function (el) { el.dataset.state = String(value); });
        root.querySelectorAll('[data-bar-for="' + name + '"]').forEach(function (bar) {
          var el = root.querySelector('[data-var="' + name + '"]');
          var low = Number(el && el.dataset.low || 0), high = Number(el && el.dataset.high || 100);
          var share = Math.max(0, Math.min(1, (Number(value) - low) / ((high - low) || 1)));
          bar.setAttribute("height", String(40 * share));
          bar.setAttribute("y", String(42 - 40 * share));
        });
      });
      document.getElementById("actions-done").textContent = String(state.accepted);
      renderAlarms(state.active_alarms, state.unacknowledged_alarms);
      if (state.ended) finished();
    }

    function renderAlarms(active, standing) {
      var ids = [];
      active.concat(standing).forEach(function (id) { if (ids.indexOf(id) < 0) ids.push(id); });
      alarmList.textContent = "";
      if (!ids.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = alarmList.dataset.empty;
        alarmList.appendChild(none);
        return;
      }
      ids.forEach(function (id) {
        var li = document.createElement("li");
        li.className = "alarm" + (standing.indexOf(id) >= 0 ? " alarm-standing" : "") + (active.indexOf(id) >= 0 ? " alarm-active" : "");
        li.dataset.alarm = id;
        li.textContent = alarmText[id] || id;
        if (standing.indexOf(id) >= 0 && !watch) {
          var ack = document.createElement("button");
          ack.type = "button";
          ack.className = "small";
          ack.textContent = alarmList.dataset.ack;
          ack.dataset.testid = "ack-" + id;
          ack.setAttribute("data-testid", "ack-" + id);
          ack.addEventListener("click", function () { send("acknowledge", {alarm: id}); });
          li.appendChild(document.createTextNode(" "));
          li.appendChild(ack);
        }
        alarmList.appendChild(li);
      });
    }

    function finished() {
      if (ended) return;
      ended = true;
      statusLine.textContent = statusLine.dataset.ended;
      closePanel();
      setTimeout(function () { window.location.assign(root.dataset.doneUrl); }, 800);
    }

    // The operations of one control, with inputs for their arguments.
    function openPanel(controlId, from) {
      if (watch || ended) return;
      var control = controls[controlId];
      if (!control) return;
      opener = from;
      panelTitle.textContent = control.label[root.dataset.lang] || control.id;
      buttons.textContent = "";
      control.actions.forEach(function (name) {
        if (name === "acknowledge") return;  // alarms are acknowledged in the alarm list
        var spec = manifest.actions[name];
        var form = document.createElement("form");
        form.className = "action-form";
        var inputs = [];
        (spec.args || []).forEach(function (arg) {
          var label = document.createElement("label");
          label.textContent = arg.name + " ";
          var input;
          if (arg.type === "enum") {
            input = document.createElement("select");
            arg.values.forEach(function (v) { var o = document.createElement("option"); o.value = v; o.textContent = v; input.appendChild(o); });
          } else if (arg.type === "bool") {
            input = document.createElement("input"); input.type = "checkbox";
          } else {
            input = document.createElement("input"); input.type = "number"; input.required = true;
            input.step = arg.type === "int" ? "1" : "any";
            if (arg.range) { input.min = arg.range[0]; input.max = arg.range[1]; }
          }
          input.name = arg.name;
          input.dataset.type = arg.type;
          input.setAttribute("data-testid", "arg-" + name + "-" + arg.name);
          label.appendChild(input);
          form.appendChild(label);
          inputs.push(input);
        });
        var button = document.createElement("button");
        button.type = "submit";
        button.textContent = spec.label[root.dataset.lang] || name;
        button.dataset.action = name;
        button.setAttribute("data-testid", "action-" + name);
        form.appendChild(button);
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          var args = {};
          inputs.forEach(function (input) {
            var type = input.dataset.type;
            args[input.name] = type === "bool" ? input.checked : type === "enum" ? input.value : Number(input.value);
          });
          send(name, args);
        });
        buttons.appendChild(form);
      });
      panel.hidden = false;
      var first = buttons.querySelector("input, select, button");
      if (first) first.focus();
    }

    function closePanel() {
      panel.hidden = true;
      if (opener) { opener.focus(); opener = null; }
    }

    function send(action, args) {
      if (busy || ended) return;
      busy = true;
      var headers = csrfHeaders();
      headers["Content-Type"] = "application/json";
      headers["Accept"] = "application/json";
      fetch(root.dataset.actionUrl, {method: "POST", headers: headers, credentials: "same-origin",
                                     body: JSON.stringify({action: action, args: args || {}})})
        .then(function (response) {
          if (response.ok) return response.json();
          return response.json().catch(function () { return {detail: "HTTP " + response.status}; })
            .then(function (body) { throw new Error(body.detail || "HTTP " + response.status); });
        })
        .then(function (receipt) {
          var last = receipt.state.last_action;
          statusLine.dataset.result = last && last.accepted ? "accepted" : "refused";
          statusLine.dataset.seq = String(receipt.seq);
          statusLine.textContent = (last && last.accepted ? statusLine.dataset.accepted : statusLine.dataset.refused) +
            " (" + (manifest.actions[action] ? (manifest.actions[action].label[root.dataset.lang] || action) : action) + ")";
          render(receipt.state, true);
          closePanel();
          if (receipt.status === "scored") finished();
        })
        .catch(function (error) {
          statusLine.dataset.result = "error";
          statusLine.textContent = error.message;
        })
        .then(function () { busy = false; });
    }

    root.querySelectorAll("[data-control]").forEach(function (el) {
      el.addEventListener("click", function () { openPanel(el.dataset.control, el); });
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openPanel(el.dataset.control, el); }
      });
    });
    document.getElementById("action-close").addEventListener("click", closePanel);
    document.addEventListener("keydown", function (event) { if (event.key === "Escape" && !panel.hidden) closePanel(); });
    var finish = document.getElementById("finish");
    if (finish) {
      finish.addEventListener("click", function () {
        if (window.confirm(finish.dataset.confirm)) send("finish", {});
      });
    }

    function tickTimer() {
      var left = Math.max(0, Math.floor((deadline - (Date.now() + offset)) / 1000));
      timerValue.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      timer.classList.toggle("timer-low", left <= 120);
      if (left <= 0 && !watch && !ended) setTimeout(function () { window.location.reload(); }, 1500);
    }
    setInterval(tickTimer, 1000);
    tickTimer();

    render(manifest.initial, true);
    live(root.dataset.wsUrl, function (frame) {
      if (frame.type === "state" || frame.type === "receipt") {
        render(frame.state, false);
        if (frame.status === "scored") finished();
      } else if (frame.type === "error") {
        statusLine.textContent = frame.detail;
      }
    }, function (state) {
      connection.dataset.state = state;
      connection.textContent = state;
    });
  }

  // One socket with reconnect and backoff; a final close code stops it.
  function live(path, onFrame, onState) {
    var attempts = 0;
    function connect() {
      onState(attempts ? "offline" : "connecting");
      var socket = new WebSocket(socketUrl(path));
      socket.onopen = function () { attempts = 0; onState("online"); };
      socket.onmessage = function (event) {
        try { onFrame(JSON.parse(event.data)); } catch (e) { /* a bad frame is dropped */ }
      };
      socket.onclose = function (event) {
        if (FINAL_CODES.indexOf(event.code) >= 0) { onState("closed"); return; }
        attempts += 1;
        onState("offline");
        setTimeout(connect, Math.min(MAX_BACKOFF_MS, 500 * Math.pow(2, attempts)));
      };
    }
    connect();
  }

  // ---- the supervisors' monitor -----------------------------------------------------------

  function monitorPage(table) {
    var body = table.querySelector("tbody");
    live(table.dataset.wsUrl, function (frame) {
      if (frame.type !== "progress") return;
      frame.rows.forEach(function (row) {
        row.tasks.forEach(function (task) {
          var tr = body.querySelector('tr[data-sitting="' + row.sitting + '"][data-task="' + task.task + '"]');
          if (!tr) return;
          tr.dataset.status = task.status;
          tr.querySelector('[data-field="status"]').textContent = task.status;
          tr.querySelector('[data-field="actions"]').textContent = String(task.actions);
          tr.querySelector('[data-field="last_action"]').textContent = task.last_action || "\u2014";
          tr.querySelector('[data-field="seconds_left"]').textContent = task.seconds_left === null ? "\u2014" : String(task.seconds_left);
          tr.querySelector('[data-field="score"]').textContent = task.score === null ? "\u2014" : Number(task.score).toFixed(1);
          var watchCell = tr.querySelector('[data-field="watch"]');
          if (task.attempt && task.kind === "scenario" && !watchCell.querySelector("a")) {
            var a = document.createElement("a");
            a.href = "/practical/monitor/attempts/" + task.attempt;
            a.textContent = "\u25B6";
            watchCell.appendChild(a);
          }
        });
      });
    }, function (state) { table.dataset.connection = state; });
  }

  function start() {
    var root = document.getElementById("practical");
    if (root && window.WebSocket) practicalPage(root);
    var table = document.getElementById("practical-monitor");
    if (table && window.WebSocket) monitorPage(table);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
