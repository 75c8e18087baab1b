// The web chat page: send typed messages and button presses to POST /chat/messages, show the
// replies. Plain JavaScript, no framework. Bot text is always set with textContent, never
// parsed as HTML.
"use strict";

(function () {
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const send = document.getElementById("chat-send");
  const errorBox = document.getElementById("chat-error");
  let busy = false;
  // How many messages from a person on the team this page has shown (see poll()).
  let relayedSeen = 0;
  const POLL_MS = 3000;

  // A random id per message: a retried POST repeats it, and the server answers it once.
  function messageId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function addMessage(who, text) {
    const item = document.createElement("li");
    item.className = who;
    const paragraph = document.createElement("p");
    paragraph.className = "text";
    paragraph.textContent = text;
    item.appendChild(paragraph);
    log.appendChild(item);
    scrollDown();
    return item;
  }

  function setChoicesDisabled(group, disabled) {
    group.querySelectorAll("button").forEach((button) => {
      button.disabled = disabled;
    });
  }

  // Buttons answer once: pressing one disables its group; a failed send enables it again.
  function wireChoices(group) {
    group.querySelectorAll("button[data-payload]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (busy) return;
        setChoicesDisabled(group, true);
        button.classList.add("chosen");
        const sent = await post({ payload: button.dataset.payload }, button.textContent.trim());
        if (!sent) {
          button.classList.remove("chosen");
          setChoicesDisabled(group, false);
        }
      });
    });
  }

  // 👍/👎 answer once and quietly (no bubble of their own): the pressed one stays, marked,
  // the other goes; a failed send puts both back.
  function wireRating(group) {
    group.querySelectorAll("button[data-payload]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (busy) return;
        const others = Array.from(group.querySelectorAll("button")).filter((b) => b !== button);
        setChoicesDisabled(group, true);
        button.classList.add("chosen");
        button.setAttribute("aria-pressed", "true");
        others.forEach((b) => { b.hidden = true; });
        const sent = await post({ payload: button.dataset.payload }, null);
        if (!sent) {
          button.classList.remove("chosen");
          button.removeAttribute("aria-pressed");
          others.forEach((b) => { b.hidden = false; });
          setChoicesDisabled(group, false);
        }
      });
    });
  }

  function buttonGroup(className, label, buttons) {
    const group = document.createElement("div");
    group.className = className;
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", label);
    buttons.forEach((choice) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = choice.title;
      button.dataset.payload = choice.payload;
      group.appendChild(button);
    });
    return group;
  }

  function addReply(reply) {
    const item = addMessage("bot", reply.text);
    const buttons = reply.buttons || [];
    const choices = buttons.filter((b) => !b.feedback);
    const thumbs = buttons.filter((b) => b.feedback);
    if (choices.length) {
      const group = buttonGroup("choices", "Choices", choices);
      item.appendChild(group);
      wireChoices(group);
    }
    if (thumbs.length) {
      const group = buttonGroup("rating", "Rate this answer", thumbs);
      item.appendChild(group);
      wireRating(group);
    }
    scrollDown();
  }

  async function problemOf(response) {
    let detail = "";
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : "";
    } catch (_) {
      detail = "";
    }
    if (response.status === 429) {
      return detail || "Too many messages; please wait a minute and send it again.";
    }
    if (response.status === 503) {
      return detail || "The bot cannot reach its database; please try again in a minute.";
    }
    return detail || "Something went wrong (" + response.status + "); please try again.";
  }

  // POST one message (retrying once, with the same id, if the network fails); true if sent.
  // `shown` is the user's bubble; null shows none (a 👍/👎 shows itself under the answer).
  async function post(body, shown) {
    busy = true;
    send.disabled = true;
    form.setAttribute("aria-busy", "true");
    showError("");
    const mine = shown === null ? null : addMessage("user", shown);
    const request = {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ ...body, id: messageId() }),
    };
    try {
      let response;
      try {
        response = await fetch("/chat/messages", request);
      } catch (_) {
        response = await fetch("/chat/messages", request);
      }
      if (!response.ok) {
        if (mine) mine.classList.add("failed");
        showError(await problemOf(response));
        return false;
      }
      const data = await response.json();
      data.replies.forEach(addReply);
      return true;
    } catch (_) {
      if (mine) mine.classList.add("failed");
      showError("The bot could not be reached; check your connection and try again.");
      return false;
    } finally {
      busy = false;
      send.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    const sent = await post({ text: text }, text);
    if (!sent && !input.value) input.value = text;
    input.focus();
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // After a reload, show the conversation so far (its buttons are not pressable any more).
  async function restore() {
    try {
      const response = await fetch("/chat/history", { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      relayedSeen = data.relayed || 0;
      data.messages.forEach((message) => {
        const who = message.direction === "in" ? "user" : "bot";
        if (message.kept) {
          addMessage(who, message.text);
        } else {
          addMessage(who + " placeholder", who === "user" ? "(a choice or form answer)" : "(a form step)");
        }
      });
    } catch (_) {
      // No history is no loss: the chat works without it.
    }
  }

  // While a person from the team has the conversation, their messages cannot come back in
  // the answer to a POST: ask for them every few seconds (only while the page is shown).
  async function poll() {
    if (document.visibilityState === "visible") {
      try {
        const response = await fetch("/chat/relayed?after=" + relayedSeen, {
          credentials: "same-origin",
        });
        if (response.ok) {
          const data = await response.json();
          data.messages.forEach(addReply);
          relayedSeen = Math.max(relayedSeen, data.count || 0);
        }
      } catch (_) {
        // The network is away for a moment: ask again at the next tick.
      }
    }
    window.setTimeout(poll, POLL_MS);
  }

  log.querySelectorAll(".choices").forEach(wireChoices);
  restore().then(() => window.setTimeout(poll, POLL_MS));
})();
