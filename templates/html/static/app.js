// hark's only script: small conveniences the pages work without. It is
// loaded from /static (the Content-Security-Policy forbids inline script).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Buttons with data-confirm ask before submitting their form.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (ev) => {
      if (!window.confirm(el.dataset.confirm)) ev.preventDefault();
    });
  });
  // A rule kind picker shows the chosen kind's help and argument example.
  document.querySelectorAll("select[data-kind-help]").forEach((sel) => {
    const target = document.getElementById(sel.dataset.kindHelp);
    const args = document.getElementById(sel.dataset.kindArgs);
    const show = () => {
      const opt = sel.selectedOptions[0];
      if (!opt) return;
      if (target) target.textContent = opt.dataset.help || "";
      if (args && !args.dataset.touched) args.value = opt.dataset.example || "";
    };
    if (args) args.addEventListener("input", () => { args.dataset.touched = "1"; });
    sel.addEventListener("change", show);
    show();
  });
  // An event picker shows only the events of the application picked
  // beside it; picking an event picks its application.
  document.querySelectorAll("select[data-app-picker]").forEach((events) => {
    const app = document.getElementById(events.dataset.appPicker);
    if (!app) return;
    const narrow = () => {
      events.querySelectorAll("optgroup").forEach((g) => {
        g.hidden = app.value !== "" && g.label !== app.value;
      });
      const opt = events.selectedOptions[0];
      if (opt && opt.parentElement.hidden) events.value = "";
    };
    app.addEventListener("change", narrow);
    events.addEventListener("change", () => {
      const opt = events.selectedOptions[0];
      if (opt && opt.parentElement.tagName === "OPTGROUP") app.value = opt.parentElement.label;
    });
    narrow();
  });
  // A rule's value field completes the names its kind takes (packages,
  // users, groups) from /api/v1/suggest, the last comma-separated one.
  document.querySelectorAll("input[data-kind-picker]").forEach((input) => {
    const kind = document.getElementById(input.dataset.kindPicker);
    const list = document.getElementById(input.getAttribute("list"));
    if (!kind || !list) return;
    let asked = "";
    input.addEventListener("input", async () => {
      const opt = kind.selectedOptions[0];
      const source = opt ? opt.dataset.suggest : "";
      const parts = input.value.split(",");
      const last = parts.pop().trim();
      if (!source || last === "" || last === asked) return;
      asked = last;
      const resp = await fetch("/api/v1/suggest/" + source + "?q=" + encodeURIComponent(last));
      if (!resp.ok) return;
      const names = await resp.json();
      const head = parts.length ? parts.join(",") + ", " : "";
      list.replaceChildren(...names.map((n) => {
        const o = document.createElement("option");
        o.value = head + n;
        return o;
      }));
    });
  });
});

// Live pages: a list with data-live shows the Server-Sent Events of that
// URL as they come, newest first. EventSource reconnects by itself after
// a dropped connection and sends the last event id it saw, from which
// the server resumes, so nothing is missed. With the data-desktop box
// ticked (and the browser's permission), each event is also a desktop
// notification while the page is open.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live]").forEach((list) => {
    const status = document.getElementById(list.dataset.status);
    const desktop = document.getElementById(list.dataset.desktop || "");
    const empty = document.getElementById(list.id + "-empty");
    if (desktop && "Notification" in window) {
      desktop.checked = Notification.permission === "granted" && localStorage.getItem("hark-desktop") === "1";
      desktop.addEventListener("change", async () => {
        if (desktop.checked && Notification.permission !== "granted") {
          desktop.checked = (await Notification.requestPermission()) === "granted";
        }
        localStorage.setItem("hark-desktop", desktop.checked ? "1" : "0");
      });
    } else if (desktop) {
      desktop.disabled = true;
    }
    const source = new EventSource(list.dataset.live);
    const say = (text) => { if (status) status.textContent = text; };
    source.onopen = () => say("connected");
    source.onerror = () => say("reconnecting…");
    source.onmessage = (ev) => {
      const item = JSON.parse(ev.data);
      if (document.getElementById(list.id + "-" + item.id)) return;
      const li = document.createElement("li");
      li.id = list.id + "-" + item.id;
      li.dataset.msgId = item.msg_id;
      const when = new Date(item.created || item.received).toLocaleTimeString();
      const title = item.url ? document.createElement("a") : document.createElement("span");
      if (item.url) { title.href = item.url; title.rel = "noreferrer"; }
      title.textContent = item.summary;
      const meta = document.createElement("div");
      meta.className = "muted";
      meta.textContent = when + " · " + item.topic + (item.filter ? " · filter " + item.filter : "");
      li.append(title, meta);
      list.prepend(li);
      if (empty) empty.hidden = true;
      if (desktop && desktop.checked && Notification.permission === "granted") {
        const n = new Notification(item.summary, { body: item.topic, tag: "hark-" + item.id });
        if (item.url) n.onclick = () => window.open(item.url, "_blank", "noopener");
      }
    };
  });
});
