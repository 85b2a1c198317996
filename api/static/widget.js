/*
 * Majakka chat widget.
 *
 *   <script src="https://HOST/widget.js" data-lang="fi" data-audience="public" async></script>
 *
 * Attributes: data-lang (fi|sv|en; else the page's <html lang>, else en), data-audience (public|staff),
 * data-exit-url (where "Quick exit" goes; default https://www.google.com/), data-mode ("page": the chat fills the
 * page, as /embed does), data-api (the API's address when it is not where the script came from, e.g. behind a
 * proxy under a path prefix such as /majakka on the site; http(s) only).
 *
 * Plain JavaScript, no build step. It talks only to its API (data-api, else the script's origin), keeps the
 * conversation in memory
 * only (no cookies, no storage) and works under a strict Content-Security-Policy: no eval, no inline styles; its
 * stylesheet is linked from its own origin inside a shadow root.
 *
 * The conversation memory is a plain array on the widget (the last turns, sent back as "history" with each question
 * so that a follow-up like "who decides on it?" can be understood); "Quick exit" empties it with the page. The host
 * element's read-only property majakkaTurns says how many turns it holds (a number only, never their text).
 */
(function () {
  "use strict";

  var TAG = "majakka-chat";
  var VERSION = "0.1.0";
  var DEFAULT_EXIT_URL = "https://www.google.com/";
  var TIMEOUT_MS = 60000;
  var HISTORY_TURNS = 6; // the API takes up to 6 earlier turns
  var MAX_BODY_BYTES = 15000; // the API refuses bodies over 16 KiB; older answers' texts are left out first
  var MAX_ANSWER_CHARS = 1000; // of each earlier answer kept (the API takes 4000)

  var STRINGS = {
    fi: {
      launcher: "Kysy ihmiskaupasta",
      title: "Majakka",
      subtitle: "Kysy ihmiskaupasta",
      intro: "Kysy ihmiskaupasta ja avusta sen uhreille. Vastaukset tulevat virallisesta aineistosta, ja jokaisella " +
        "on lähde. Kysymystäsi ei tallenneta.",
      exit: "Poistu nopeasti",
      close: "Sulje keskustelu",
      conversation: "Keskustelu",
      label: "Kysymyksesi",
      send: "Lähetä",
      empty: "Kirjoita ensin kysymys.",
      loading: "Haetaan vastausta…",
      error: "Vastausta ei nyt saatu. Yritä hetken päästä uudelleen.",
      you: "Sinä",
      bot: "Majakka",
      sources: "Lähteet",
      source: "Lähde",
      openSource: "Avaa lähde",
      newTab: "(avautuu uuteen välilehteen)",
      helpful: "Oliko vastauksesta apua?",
      yes: "Kyllä",
      no: "Ei",
      thanks: "Kiitos palautteesta.",
      feedbackError: "Palautetta ei voitu lähettää.",
      call: "Soita",
      email: "Sähköposti",
      web: "Verkkosivu",
      hours: "Avoinna",
      starters: "Voit kysyä esimerkiksi",
      next: "Kysy seuraavaksi",
      didYouMean: "Tarkoititko?"
    },
    sv: {
      launcher: "Fråga om människohandel",
      title: "Majakka",
      subtitle: "Fråga om människohandel",
      intro: "Fråga om människohandel och om hjälp till offer. Svaren kommer från officiellt material, och varje " +
        "svar har en källa. Din fråga sparas inte.",
      exit: "Lämna snabbt",
      close: "Stäng chatten",
      conversation: "Samtal",
      label: "Din fråga",
      send: "Skicka",
      empty: "Skriv din fråga först.",
      loading: "Söker svar…",
      error: "Vi fick inget svar just nu. Försök igen om en stund.",
      you: "Du",
      bot: "Majakka",
      sources: "Källor",
      source: "Källa",
      openSource: "Öppna källan",
      newTab: "(öppnas i en ny flik)",
      helpful: "Hjälpte svaret dig?",
      yes: "Ja",
      no: "Nej",
      thanks: "Tack för din respons.",
      feedbackError: "Det gick inte att skicka responsen.",
      call: "Ring",
      email: "E-post",
      web: "Webbplats",
      hours: "Öppet",
      starters: "Du kan till exempel fråga",
      next: "Fråga härnäst",
      didYouMean: "Menade du?"
    },
    en: {
      launcher: "Ask about human trafficking",
      title: "Majakka",
      subtitle: "Ask about human trafficking",
      intro: "Ask about human trafficking and help for victims. The answers come from official material, and each " +
        "one shows its source. Your question is not saved.",
      exit: "Quick exit",
      close: "Close chat",
      conversation: "Conversation",
      label: "Your question",
      send: "Send",
      empty: "Please write your question first.",
      loading: "Finding an answer…",
      error: "We could not get an answer right now. Please try again in a moment.",
      you: "You",
      bot: "Majakka",
      sources: "Sources",
      source: "Source",
      openSource: "Open the source",
      newTab: "(opens in a new tab)",
      helpful: "Did this answer help you?",
      yes: "Yes",
      no: "No",
      thanks: "Thank you for your feedback.",
      feedbackError: "Your feedback could not be sent.",
      call: "Call",
      email: "Email",
      web: "Website",
      hours: "Open",
      starters: "You could ask, for example",
      next: "Ask next",
      didYouMean: "Did you mean?"
    }
  };

  // Material Design icons (Apache 2.0), 24x24.
  var ICONS = {
    chat: "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z",
    close: "M19 6.41L17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z",
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 " +
      "7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 " +
      ".41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z",
    phone: "M6.62 10.79c1.44 2.83 3.76 5.14 6.59 6.59l2.2-2.2c.27-.27.67-.36 1.02-.24 1.12.37 2.33.57 3.57.57.55 0 " +
      "1 .45 1 1V20c0 .55-.45 1-1 1-9.39 0-17-7.61-17-17 0-.55.45-1 1-1h3.5c.55 0 1 .45 1 1 0 1.25.2 2.45.57 3.57" +
      ".11.35.03.74-.25 1.02l-2.2 2.2z",
    send: "M2.01 21L23 12 2.01 3 2 10l15 2-15 2z"
  };

  var script = document.currentScript || findOwnScript();
  if (!script || !script.src) {
    return;
  }
  var data = script.dataset;
  // Every request and the stylesheet go to the API's base: data-api (an origin with an optional path prefix), or
  // the origin the script came from.
  var origin = apiBase(data.api, script.src);
  var lang = pickLanguage(data.lang) || pickLanguage(document.documentElement.lang) || "en";
  var t = STRINGS[lang];
  var audience = data.audience === "staff" ? "staff" : "public";
  var exitUrl = safeUrl(data.exitUrl, document.baseURI) || DEFAULT_EXIT_URL;
  var pageMode = data.mode === "page";
  // Headings inside the chat come one level under its title (h2 in a page's widget, h1 when the chat is the page).
  var SUBHEADING = pageMode ? "h2" : "h3";

  function findOwnScript() {
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(scripts[i].src)) {
        return scripts[i];
      }
    }
    return null;
  }

  function pickLanguage(value) {
    var primary = String(value || "").trim().toLowerCase().split(/[-_]/)[0];
    return Object.prototype.hasOwnProperty.call(STRINGS, primary) ? primary : null;
  }

  function apiBase(given, scriptSrc) {
    if (given) {
      try {
        var url = new URL(given, document.baseURI);
        if (url.protocol === "https:" || url.protocol === "http:") {
          return (url.origin + url.pathname).replace(/\/+$/, "");
        }
      } catch (e) {
        // not an address: fall back to the script's origin
      }
    }
    return new URL(scriptSrc, document.baseURI).origin;
  }

  // Only http(s) links are ever put into the page (never javascript: or data: URLs from a response or attribute).
  function safeUrl(value, base) {
    if (!value) {
      return null;
    }
    try {
      var url = new URL(value, base);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    var key;
    for (key in attrs || {}) {
      if (attrs[key] === null || attrs[key] === undefined || attrs[key] === false) {
        continue;
      }
      if (key === "text") {
        el.textContent = attrs[key];
      } else if (key === "className") {
        el.className = attrs[key];
      } else {
        el.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
      }
    }
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return el;
  }

  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "icon");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function visuallyHidden(text) {
    return h("span", { className: "sr", text: text });
  }

  // The languages the widget itself speaks are all written left to right; a help block may be in any language.
  function direction(value) {
    return value === "rtl" ? "rtl" : "ltr";
  }

  function byteLength(text) {
    return window.TextEncoder ? new TextEncoder().encode(text).length : text.length * 3;
  }

  function stripMarkers(text) {
    return String(text || "").replace(/\s*\[\d+\]/g, "").trim();
  }

  // The language (and writing direction) an answer's text is in: a help answer is written in the message's own
  // language, which may be one the widget does not speak (Arabic, Farsi: right to left).
  function answerVoice(answer) {
    if (answer.answer_kind === "help" && answer.help && answer.help.language) {
      return { lang: answer.help.language, dir: direction(answer.help.direction) };
    }
    return { lang: answer.language || null, dir: null };
  }

  function Widget(host) {
    var self = this;
    this.host = host;
    this.shadow = host.attachShadow({ mode: "open" });
    this.exchanges = 0;
    this.busy = false;
    this.gone = false;
    this.controller = null;
    this.startersRequested = false;
    // The conversation so far, oldest first (page memory only: never storage, never a cookie).
    this.history = [];
    Object.defineProperty(host, "majakkaTurns", { get: function () { return self.history.length; } });
    this.build();
  }

  Widget.prototype.build = function () {
    var self = this;
    var link = h("link", { rel: "stylesheet", href: origin + "/widget.css?v=" + VERSION });
    // Shown once the stylesheet has loaded, so the page never sees the widget unstyled.
    var root = h("div", { className: "root" + (pageMode ? " page" : ""), lang: lang, dir: "ltr", hidden: true });
    link.addEventListener("load", function () { root.hidden = false; });
    link.addEventListener("error", function () { root.hidden = false; });

    this.launcher = pageMode ? null : h("button", {
      type: "button", className: "launcher", "aria-expanded": "false", "aria-controls": "mj-panel"
    }, [icon("chat"), h("span", { text: t.launcher })]);

    this.exitButton = h("button", { type: "button", className: "exit" }, [t.exit]);
    this.closeButton = pageMode ? null : h("button", {
      type: "button", className: "close", "aria-label": t.close
    }, [icon("close")]);

    var header = h("div", { className: "header" }, [
      h("div", { className: "heading" }, [
        h(pageMode ? "h1" : "h2", { id: "mj-title", text: t.title }),
        h("p", { className: "subtitle", text: t.subtitle })
      ]),
      h("div", { className: "actions" }, [this.exitButton, this.closeButton])
    ]);

    this.intro = h("p", { className: "intro", text: t.intro });
    this.log = h("div", {
      className: "log", role: "region", "aria-label": t.conversation, tabindex: "0"
    }, [this.intro]);
    // The finished answer is announced once, here (never word by word).
    this.live = h("div", { className: "sr", "aria-live": "polite", "aria-atomic": "true" });

    this.input = h("input", {
      id: "mj-question", type: "text", name: "question", maxlength: "1000", autocomplete: "off",
      "aria-describedby": "mj-form-error", spellcheck: "true", dir: "auto"
    });
    this.formError = h("p", { id: "mj-form-error", className: "form-error", hidden: true });
    this.sendButton = h("button", { type: "submit", className: "send" }, [icon("send"), h("span", { text: t.send })]);
    this.form = h("form", { className: "ask", novalidate: true }, [
      h("label", { for: "mj-question", text: t.label }),
      h("div", { className: "row" }, [this.input, this.sendButton]),
      this.formError
    ]);

    this.panel = h("div", {
      id: "mj-panel", className: "panel", role: pageMode ? "main" : "dialog", "aria-labelledby": "mj-title",
      hidden: !pageMode
    }, [header, this.log, this.form, this.live]);

    root.appendChild(this.panel);
    if (this.launcher) {
      root.appendChild(this.launcher);
    }
    this.shadow.appendChild(link);
    this.shadow.appendChild(root);
    this.root = root;

    if (this.launcher) {
      this.launcher.addEventListener("click", function () {
        if (self.panel.hidden) { self.open(); } else { self.close(); }
      });
    }
    if (this.closeButton) {
      this.closeButton.addEventListener("click", function () { self.close(); });
    }
    this.exitButton.addEventListener("click", function () { self.quickExit(); });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.submit();
    });
    this.shadow.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !pageMode && !self.panel.hidden) {
        event.preventDefault();
        self.close();
      }
    });
    if (pageMode) {
      this.loadStarters();
    }
  };

  Widget.prototype.open = function () {
    this.panel.hidden = false;
    this.root.classList.add("open");
    this.launcher.setAttribute("aria-expanded", "true");
    this.input.focus();
    this.loadStarters();
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.root.classList.remove("open");
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  };

  // Leave at once: first take every word of the conversation out of the page and out of memory, then replace the
  // page (no history entry to come back to).
  Widget.prototype.quickExit = function () {
    this.gone = true;
    this.history.length = 0;
    if (this.controller) {
      this.controller.abort();
    }
    this.shadow.replaceChildren();
    this.host.remove();
    var target = exitUrl;
    try {
      if (window.top !== window) {
        window.top.location.replace(target);
        return;
      }
    } catch (e) {
      // A sandboxed frame may not navigate the top page; leave at least the frame.
    }
    window.location.replace(target);
  };

  Widget.prototype.showFormError = function (text) {
    this.formError.textContent = text;
    this.formError.hidden = !text;
    if (text) {
      this.input.setAttribute("aria-invalid", "true");
    } else {
      this.input.removeAttribute("aria-invalid");
    }
  };

  Widget.prototype.scrollTo = function (el, block) {
    el.scrollIntoView({ block: block || "nearest", behavior: reducedMotion() ? "auto" : "smooth" });
  };

  // JSON from our own origin: no credentials, no cache, no referrer, and given up after TIMEOUT_MS.
  Widget.prototype.request = function (path, init) {
    var self = this;
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    if (controller && init.method === "POST") {
      this.controller = controller; // Quick exit stops a question on its way
    }
    function done() {
      if (timer) { clearTimeout(timer); }
      if (self.controller === controller) { self.controller = null; }
    }
    return fetch(origin + path, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      done();
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    }, function (error) {
      done();
      throw error;
    });
  };

  // The questions to start with, shown once, under the introduction, when the panel first opens.
  Widget.prototype.loadStarters = function () {
    var self = this;
    if (this.startersRequested) {
      return;
    }
    this.startersRequested = true;
    this.request("/api/v1/suggestions?language=" + encodeURIComponent(lang), { method: "GET" }).then(function (body) {
      var items = body && Array.isArray(body.suggestions) ? body.suggestions : [];
      var section = self.gone ? null : self.renderSuggestions(items.slice(0, 4), t.starters, "mj-start", lang);
      if (section) {
        self.log.insertBefore(section, self.intro.nextSibling);
      }
    }, function () {
      // Without suggestions the chat works as before: nothing to tell the reader.
    });
  };

  // A labelled group of suggested questions; each button asks its question as if it had been typed.
  Widget.prototype.renderSuggestions = function (items, heading, headingId, language) {
    var self = this;
    var list = h("ul", { className: "suggestions", lang: language && language !== lang ? language : null });
    (items || []).forEach(function (item) {
      if (!item || typeof item.question !== "string" || !item.question.trim()) {
        return;
      }
      var question = item.question.trim();
      var cardId = typeof item.card_id === "string" ? item.card_id : null;
      var button = h("button", { type: "button", className: "suggestion", dir: "auto" }, [question]);
      button.addEventListener("click", function () {
        if (self.busy) {
          return;
        }
        self.showFormError("");
        self.send(question, cardId, language);
      });
      list.appendChild(h("li", {}, [button]));
    });
    if (!list.children.length) {
      return null;
    }
    return h("section", { className: "suggest", "aria-labelledby": headingId }, [
      h(SUBHEADING, { id: headingId, text: heading }),
      list
    ]);
  };

  Widget.prototype.submit = function () {
    var question = this.input.value.trim();
    if (this.busy) {
      return;
    }
    if (!question) {
      this.showFormError(t.empty);
      this.input.focus();
      return;
    }
    this.showFormError("");
    this.input.value = "";
    this.send(question, null, null);
  };

  // Ask one question (typed, or a suggestion picked with its card_id), show it and then its answer.
  Widget.prototype.send = function (question, cardId, questionLang) {
    var self = this;
    this.busy = true;
    this.exchanges += 1;
    var id = "mj-a" + this.exchanges;
    var reply = h("div", { className: "reply", "aria-busy": "true" }, [
      h("p", { className: "loading" }, [h("span", { className: "dots", "aria-hidden": "true" }), t.loading])
    ]);
    var exchange = h("div", { className: "exchange", id: id }, [
      h("div", { className: "question" }, [
        h("p", { className: "who", text: t.you }),
        h("p", { lang: questionLang && questionLang !== lang ? questionLang : null, dir: "auto", text: question })
      ]),
      reply
    ]);
    this.log.appendChild(exchange);
    this.live.textContent = "";
    this.scrollTo(exchange, "start");

    this.ask(question, cardId).then(function (answer) {
      if (self.gone) {
        return;
      }
      self.renderAnswer(reply, answer, id);
      self.remember(question, answer);
      self.announce(answer);
    }, function () {
      if (self.gone) {
        return;
      }
      reply.replaceChildren(h("p", { className: "error", text: t.error }));
      self.live.textContent = t.error;
    }).then(function () {
      if (self.gone) {
        return;
      }
      reply.removeAttribute("aria-busy");
      self.busy = false;
      self.scrollTo(exchange, "start");
    });
  };

  // One turn of the conversation memory: the question, the answer's words without the [n] markers, the curated
  // answer's id and the documents it cited.
  Widget.prototype.remember = function (question, answer) {
    var documentIds = [];
    (answer.citations || []).forEach(function (c) {
      var docId = typeof c.document_id === "string" ? c.document_id : null;
      if (docId && docId.length <= 300 && documentIds.indexOf(docId) < 0 && documentIds.length < 20) {
        documentIds.push(docId);
      }
    });
    var cardId = typeof answer.card_id === "string" && answer.card_id.length <= 100 ? answer.card_id : null;
    this.history.push({
      question: question.slice(0, 1000),
      answer: stripMarkers(answer.answer).slice(0, MAX_ANSWER_CHARS) || null,
      card_id: cardId,
      document_ids: documentIds
    });
    while (this.history.length > HISTORY_TURNS) {
      this.history.shift();
    }
  };

  // The request body: the last turns, made to fit the API's size limit by leaving out the earlier answers' texts
  // first (the questions carry the context), then the oldest turns.
  Widget.prototype.askBody = function (question, cardId) {
    var turns = this.history.slice(-HISTORY_TURNS).map(function (turn) {
      return {
        question: turn.question, answer: turn.answer, card_id: turn.card_id, document_ids: turn.document_ids.slice()
      };
    });
    for (;;) {
      var body = JSON.stringify({
        question: question, language: null, audience: audience, history: turns, ui_language: lang,
        card_id: cardId || null
      });
      if (!turns.length || byteLength(body) <= MAX_BODY_BYTES) {
        return body;
      }
      var withAnswer = turns.filter(function (turn) { return turn.answer !== null; })[0];
      if (withAnswer) {
        withAnswer.answer = null;
      } else {
        turns.shift();
      }
    }
  };

  Widget.prototype.ask = function (question, cardId) {
    return this.request("/api/v1/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: this.askBody(question, cardId)
    });
  };

  // Said once in the live region: the help first when someone is in danger, then the answer, each in its language.
  Widget.prototype.announce = function (answer) {
    var nodes = [];
    if (answer.urgent && answer.help) {
      nodes.push(h("span", { lang: answer.help.language || null, dir: direction(answer.help.direction) }, [
        answer.help.title + ". " + (answer.help.text || "")
      ]), " ");
    }
    var voice = answerVoice(answer);
    nodes.push(t.bot + ": ", h("span", { lang: voice.lang, dir: voice.dir }, [stripMarkers(answer.answer)]));
    this.live.replaceChildren.apply(this.live, nodes);
  };

  Widget.prototype.renderAnswer = function (reply, answer, id) {
    var self = this;
    var citations = {};
    (answer.citations || []).forEach(function (c) { citations[c.n] = c; });
    var toggles = {};

    function toggleFor(n, detailId, children, className) {
      var button = h("button", {
        type: "button", className: className, "aria-expanded": "false", "aria-controls": detailId
      }, children);
      (toggles[n] = toggles[n] || []).push(button);
      button.addEventListener("click", function () {
        var detail = self.shadow.getElementById(detailId);
        var show = detail.hidden;
        detail.hidden = !show;
        toggles[n].forEach(function (b) { b.setAttribute("aria-expanded", show ? "true" : "false"); });
        if (show) {
          self.scrollTo(detail);
        }
      });
      return button;
    }

    var voice = answerVoice(answer);
    var answerText = h("p", { className: "answer-text", lang: voice.lang, dir: voice.dir });
    String(answer.answer || "").split(/(\[\d+\])/).forEach(function (piece) {
      var match = /^\[(\d+)\]$/.exec(piece);
      if (match && citations[match[1]]) {
        var n = match[1];
        answerText.appendChild(toggleFor(n, id + "-c" + n, [
          h("span", { className: "sr", lang: lang, text: t.source + " " }), n
        ], "cite"));
      } else if (piece) {
        answerText.appendChild(document.createTextNode(piece));
      }
    });

    var parts = [];
    if (answer.help && answer.urgent) {
      parts.push(this.renderHelp(answer.help, id, true));
    }
    parts.push(h("div", { className: "answer" }, [h("p", { className: "who", text: t.bot }), answerText]));
    parts.push(this.renderSuggestions((answer.did_you_mean || []).slice(0, 3), t.didYouMean, id + "-dym",
      answer.language));

    if ((answer.citations || []).length) {
      var list = h("ol", { className: "sources" });
      answer.citations.forEach(function (c) {
        var detailId = id + "-c" + c.n;
        var where = c.section ? c.title + " — " + c.section : c.title;
        // A document page of ours is a path under the API's base (which may have a prefix).
        var url = safeUrl(/^\/(?!\/)/.test(c.url || "") ? origin + c.url : c.url);
        var detail = h("div", { id: detailId, className: "detail", hidden: true }, [
          h("blockquote", { lang: c.language || null, dir: "auto" }, [h("p", { text: c.quote })]),
          h("p", { className: "where", dir: "auto", text: where }),
          url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, [
            t.openSource + " ", visuallyHidden(t.newTab)
          ]) : null
        ]);
        list.appendChild(h("li", {}, [
          toggleFor(String(c.n), detailId, [
            h("span", { className: "num", "aria-hidden": "true", text: String(c.n) }),
            visuallyHidden(t.source + " " + c.n + ": "),
            h("span", { className: "doc", text: where })
          ], "source"),
          detail
        ]));
      });
      parts.push(h("div", { className: "source-list" }, [h(SUBHEADING, { text: t.sources }), list]));
    }
    if (answer.help && !answer.urgent) {
      parts.push(this.renderHelp(answer.help, id, false));
    }
    if (answer.notice) {
      // Written in the answer's language; for a message in a language the API does not answer in, in English.
      var noticeLang = STRINGS[answer.language] ? answer.language : "en";
      parts.push(h("p", { className: "notice", lang: noticeLang, text: answer.notice }));
    }
    // Small talk cites nothing, so there is nothing to rate.
    if (answer.answer_kind !== "smalltalk") {
      parts.push(this.renderFeedback(answer, id));
    }
    // What to ask next; after small talk or when the material has no answer, questions to start with.
    var opener = answer.answer_kind === "smalltalk" || answer.answer_kind === "abstain" || answer.abstained;
    parts.push(this.renderSuggestions((answer.follow_ups || []).slice(0, 4), opener ? t.starters : t.next,
      id + "-next", answer.language));
    reply.replaceChildren.apply(reply, parts.filter(Boolean));
  };

  // The help block is written in the message's own language (help.language, help.direction: Arabic and Farsi are
  // right to left); the widget's own words in it (Call, Email, …) stay in the widget's language.
  Widget.prototype.renderHelp = function (help, id, urgent) {
    var helpLang = help.language || null;
    var helpDir = direction(help.direction);
    var foreign = helpDir !== "ltr" || (helpLang && helpLang !== lang);
    function own(text) {
      return foreign ? h("span", { lang: lang, dir: "ltr", text: text }) : text;
    }
    var list = h("ul", { className: "contacts" });
    (help.contacts || []).forEach(function (c) {
      var tel = String(c.tel || "").replace(/[^+0-9]/g, "");
      var email = /^[^\s@<>]+@[^\s@<>]+$/.test(c.email || "") ? c.email : null;
      var web = safeUrl(c.web);
      list.appendChild(h("li", {}, [
        h("p", { className: "name", text: c.name }),
        c.text ? h("p", { text: c.text }) : null,
        tel ? h("a", { className: "call", href: "tel:" + tel }, [
          icon("phone"), own(t.call), " ", h("span", { dir: "ltr", text: c.phone || tel })
        ]) : null,
        email ? h("p", {}, [own(t.email + ":"), " ", h("a", { href: "mailto:" + email, dir: "ltr", text: email })]) : null,
        web ? h("p", {}, [h("a", { href: web, target: "_blank", rel: "noopener noreferrer" }, [
          own(t.web), " ", h("span", { className: "sr", lang: lang, text: t.newTab })
        ])]) : null,
        c.hours ? h("p", { className: "hours" }, [own(t.hours + ":"), " ", c.hours]) : null
      ]));
    });
    return h("section", {
      className: "help" + (urgent ? " urgent" : ""), "aria-labelledby": id + "-help", lang: helpLang, dir: helpDir
    }, [
      h(SUBHEADING, { id: id + "-help", text: help.title }),
      help.text ? h("p", { text: help.text }) : null,
      list
    ]);
  };

  // Feedback carries only the cited passage ids and the rating: never the question or the answer.
  Widget.prototype.renderFeedback = function (answer, id) {
    var ids = [];
    (answer.citations || []).forEach(function (c) {
      if (ids.indexOf(c.passage_id) < 0 && ids.length < 20) { ids.push(c.passage_id); }
    });
    var status = h("p", { className: "thanks", role: "status" });
    var group = h("div", { className: "feedback", role: "group", "aria-labelledby": id + "-fb" }, [
      h("p", { id: id + "-fb", text: t.helpful })
    ]);
    var buttons = [];
    var sent = false;
    [["up", t.yes], ["down", t.no]].forEach(function (pair) {
      var button = h("button", { type: "button", className: "rate", "aria-pressed": "false" }, [
        icon(pair[0]), h("span", { text: pair[1] })
      ]);
      button.addEventListener("click", function () {
        if (sent) { return; }
        sent = true;
        button.setAttribute("aria-pressed", "true");
        buttons.forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
        fetch(origin + "/api/v1/feedback", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ passage_ids: ids, rating: pair[0] }),
          credentials: "omit",
          cache: "no-store",
          referrerPolicy: "no-referrer"
        }).then(function (response) {
          status.textContent = response.ok ? t.thanks : t.feedbackError;
        }, function () {
          status.textContent = t.feedbackError;
        });
      });
      buttons.push(button);
    });
    group.appendChild(h("div", { className: "rates" }, buttons));
    group.appendChild(status);
    return group;
  };

  function start() {
    if (document.querySelector(TAG)) {
      return;
    }
    var host = document.createElement(TAG);
    document.body.appendChild(host);
    new Widget(host);
  }

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
