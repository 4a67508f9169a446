// funky-music progressive enhancement: "More playlists" appends the next page of results in place.
// Without this script the same link simply opens the next page. The next page's grid comes from
// the results URL plus `fragment=1`: the cached HTML of that page's cards and its "More" link.
(function () {
  "use strict";

  var results = document.querySelector("[data-results]");
  if (!results || !window.fetch || !window.DOMParser || !window.URL) {
    return;
  }
  var statusLine = document.querySelector("[data-results-status]");

  function say(message) {
    if (statusLine) {
      statusLine.textContent = message;
    }
  }

  function loadMore(link) {
    var pageUrl = link.href;
    var fragmentUrl = new URL(pageUrl, document.baseURI);
    fragmentUrl.searchParams.set("fragment", "1");

    link.setAttribute("aria-disabled", "true");
    link.dataset.busy = "1";
    var label = link.textContent;
    link.textContent = "Loading…";

    fetch(fragmentUrl.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (text) {
        var fragment = new DOMParser().parseFromString(text, "text/html");
        var list = results.querySelector("[data-cards]");
        var incoming = fragment.querySelectorAll("[data-cards] > li");
        var firstNew = null;
        incoming.forEach(function (card) {
          var node = document.importNode(card, true);
          list.appendChild(node);
          firstNew = firstNew || node;
        });

        var pager = results.querySelector("[data-pager]");
        var nextPager = fragment.querySelector("[data-pager]");
        if (nextPager) {
          pager.replaceWith(document.importNode(nextPager, true));
        } else {
          pager.remove();
        }

        // A reload or a shared link now lands on the page the visitor has reached.
        history.replaceState(history.state, "", pageUrl);
        var count = list.children.length;
        say("Showing " + count + " playlist" + (count === 1 ? "" : "s") + ".");

        var firstLink = firstNew && firstNew.querySelector("h2 a");
        if (firstLink) {
          firstLink.focus();
        }
      })
      .catch(function () {
        // The plain link still works: follow it like a browser without this script would.
        link.textContent = label;
        window.location.assign(pageUrl);
      });
  }

  results.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-more]");
    if (!link || event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    if (!link.dataset.busy) {
      loadMore(link);
    }
  });
})();

// The subscribe form's hidden time zone: the browser's own (an IANA name such as
// "Europe/London"), so the daily email comes at the subscriber's hour. Without this script the
// site's time zone stays in the field, and the manage page can change it.
(function () {
  "use strict";
  var zone;
  try {
    zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    zone = "";
  }
  if (!zone) {
    return;
  }
  document.querySelectorAll("input[data-time-zone]").forEach(function (input) {
    input.value = zone;
  });
})();

// The subscribe form says how often its email comes: its heading and button follow the chosen
// frequency, in the words the server gave each option (data-phrase), as it words them when the
// form comes back. The weekday shows only for a weekly email by site.css alone.
(function () {
  "use strict";
  document.querySelectorAll("[data-subscribe]").forEach(function (form) {
    var frequency = form.querySelector("select[name=frequency]");
    if (!frequency) {
      return;
    }
    function follow() {
      var chosen = frequency.options[frequency.selectedIndex];
      var phrase = chosen && chosen.getAttribute("data-phrase");
      if (!phrase) {
        return;
      }
      form.querySelectorAll("[data-frequency-phrase]").forEach(function (words) {
        words.textContent = phrase;
      });
    }
    frequency.addEventListener("change", follow);
    frequency.addEventListener("input", follow);
    follow(); // a choice the browser restored (Back, reload) before this ran
  });
})();
