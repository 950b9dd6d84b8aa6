// The playground page: sends what is typed and pressed to /playground/api, shows the HTML
// replies it gets back, and draws their charts with plotly.js. Every decision (what a
// button does, where its answer goes) is the server's; this file only follows it:
//   a form        -> shown under the message it came from (in its thread)
//   "replace"     -> the answer takes the clicked message's place
//   "post"        -> the answer is a new message
//   "notice"      -> a short answer for the clicker alone, in the message's thread
//   alerts        -> every copy of a changed alert is redrawn in place
"use strict";

(() => {
  const API = "/playground/api";
  const log = document.getElementById("log");
  const identity = document.getElementById("identity");
  const askForm = document.getElementById("ask");
  const input = document.getElementById("text");
  const surveyForm = document.getElementById("survey");
  const surveyAccount = document.getElementById("survey-account");

  async function call(path, body) {
    const options = body === undefined
      ? {method: "GET"}
      : {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
    const response = await fetch(API + path, options);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(data.error || `the service answered ${response.status}`);
    }
    return data;
  }

  // HTML from the server (all text in it escaped there) as elements.
  function nodes(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return [...template.content.children];
  }

  function drawCharts(root) {
    for (const plot of root.querySelectorAll(".plot[data-figure]")) {
      if (plot.dataset.drawn) continue;
      plot.dataset.drawn = "yes";
      const figure = JSON.parse(plot.dataset.figure);
      if (window.Plotly) {
        window.Plotly.newPlot(plot, figure.data, figure.layout, figure.config);
      } else {
        plot.textContent = "The chart could not be drawn; its summary below has the numbers.";
      }
    }
  }

  function place(elements, where) {
    where(...elements);
    for (const element of elements) drawCharts(element);
    return elements;
  }

  function entry(kind, who, elements) {
    const box = document.createElement("div");
    box.className = `entry ${kind}`;
    const name = document.createElement("p");
    name.className = "who";
    name.textContent = who;
    box.append(name);
    log.append(box);
    place(elements, (...found) => box.append(...found));
    box.scrollIntoView({block: "end", behavior: "smooth"});
    return box;
  }

  function me() {
    const chosen = identity.selectedOptions[0];
    return chosen ? chosen.dataset.name : "You";
  }

  function said(text) {
    const line = document.createElement("p");
    line.className = "said";
    line.textContent = text;
    entry("mine", me(), [line]);
  }

  function answered(html, who = "Closeloop") {
    entry("bot", who, nodes(html));
  }

  function failed(error, after = null) {
    const line = document.createElement("p");
    line.className = "error";
    line.setAttribute("role", "alert");
    line.textContent = error.message;
    if (after) thread(after).append(line);
    else entry("bot", "Closeloop", [line]);
  }

  async function busy(control, work) {
    control.disabled = true;
    try {
      await work();
    } finally {
      control.disabled = false;
    }
  }

  async function ask(text) {
    said(text);
    try {
      const data = await call("/command", {text, user: identity.value});
      answered(data.html);
    } catch (error) {
      failed(error);
    }
  }

  function editAlerts(alerts) {
    for (const [id, html] of Object.entries(alerts || {})) {
      for (const old of log.querySelectorAll(`article[data-alert="${CSS.escape(id)}"]`)) {
        place(nodes(html), (...fresh) => old.replaceWith(...fresh));
      }
    }
  }

  // What answers a message (its notices, the form it asks) goes under it, oldest first.
  function thread(card) {
    return card.closest(".entry") || log;
  }

  function notice(card, html, where = (box) => thread(card).append(box)) {
    const box = document.createElement("div");
    box.className = "notice";
    box.setAttribute("role", "status");
    where(box);
    place(nodes(html), (...found) => box.append(...found));
  }

  function deliver(card, data) {
    if (data.delivery === "replace" && card) {
      place(nodes(data.html), (...fresh) => card.replaceWith(...fresh));
    } else if (data.delivery === "notice" && card) {
      notice(card, data.html);
    } else {
      answered(data.html);
    }
    editAlerts(data.alerts);
  }

  function showForm(card, html) {
    for (const old of thread(card).querySelectorAll(":scope > form.ask")) old.remove();
    const [form] = place(nodes(html), (...found) => thread(card).append(...found));
    const first = form.querySelector("select, input, textarea");
    if (first) first.focus();
  }

  log.addEventListener("click", async (event) => {
    const cancel = event.target.closest("[data-cancel]");
    if (cancel) {
      cancel.closest("form").remove();
      return;
    }
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const card = button.closest("article.reply");
    const {action_id, payload} = JSON.parse(button.dataset.action);
    const clicked_on = card ? card.dataset.visibility : null;
    await busy(button, async () => {
      try {
        const data = await call("/click", {action_id, payload, user: identity.value, clicked_on});
        if (data.form) showForm(card, data.form);
        else deliver(card, data);
      } catch (error) {
        failed(error, card);
      }
    });
  });

  log.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.ask");
    if (!form) return;
    event.preventDefault();
    const {action_id, payload} = JSON.parse(form.dataset.action);
    for (const [name, value] of new FormData(form)) payload[name] = String(value);
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const data = await call("/submit", {action_id, payload, user: identity.value});
        notice(form, data.html, (box) => form.replaceWith(box));
        editAlerts(data.alerts);
      } catch (error) {
        failed(error, form);
      }
    });
  });

  askForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    ask(text);
  });

  for (const button of document.querySelectorAll("[data-command]")) {
    button.addEventListener("click", () => ask(button.dataset.command));
  }

  surveyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = Object.fromEntries(new FormData(surveyForm));
    const account = surveyAccount.selectedOptions[0];
    said(`Survey answer from ${account ? account.textContent : fields.account}: NPS ${fields.score}`);
    await busy(surveyForm.querySelector("button[type=submit]"), async () => {
      try {
        const data = await call("/survey", {
          account: fields.account,
          score: Number(fields.score),
          comment: fields.comment,
          user: identity.value,
        });
        answered(data.html, "Closeloop · alert");
      } catch (error) {
        failed(error);
      }
    });
  });

  document.getElementById("digest").addEventListener("click", async (event) => {
    said("Send today's digest now");
    await busy(event.currentTarget, async () => {
      try {
        answered((await call("/digest", {user: identity.value})).html, "Closeloop · digest");
      } catch (error) {
        failed(error);
      }
    });
  });

  document.getElementById("home").addEventListener("click", async (event) => {
    said("Open App Home");
    await busy(event.currentTarget, async () => {
      try {
        answered((await call("/home", {user: identity.value})).html, "Closeloop · App Home");
      } catch (error) {
        failed(error);
      }
    });
  });

  function option(value, text, data = {}) {
    const element = document.createElement("option");
    element.value = value;
    element.textContent = text;
    Object.assign(element.dataset, data);
    return element;
  }

  async function load() {
    const {people, accounts} = await call("/directory");
    const remembered = localStorage.getItem("closeloop.identity");
    for (const person of people) {
      identity.append(option(person.user_id, `${person.name} · ${person.role} (${person.user_id})`,
        {name: person.name}));
    }
    const preferred = [remembered, "U0CSM1"].find((id) => people.some((p) => p.user_id === id));
    if (preferred) identity.value = preferred;
    for (const account of accounts) {
      surveyAccount.append(option(account.id, account.name));
    }
    if (accounts.some((a) => a.id === "ACME")) surveyAccount.value = "ACME";
  }

  identity.addEventListener("change", () => {
    localStorage.setItem("closeloop.identity", identity.value);
  });

  load().catch(failed);
})();
