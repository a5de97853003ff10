// What an open page does when the login gate (app_auth.py) refuses one of its callbacks.
//
// Dash's renderer drops a refused callback without a word: a page whose session has expired
// stops updating, and a click the user's role may not make does nothing. This script wraps
// window.fetch and looks at the answers to callback requests (/_dash-update-component):
// - 401 (no live session): go to the login page, which comes back here afterwards
//   (/login?next=<this page's path and query>);
// - 403 (refused): show "Not allowed: <the refusal's reason>" at the top of the page until
//   dismissed. The gate's refusals are JSON: {"error": "<reason>"}.
// Vanilla JS, nothing fetched beyond the app's own requests; the answer reaches Dash as is.
(function () {
    "use strict";

    var CALLBACK_PATH = "/_dash-update-component";
    var LOGIN_PATH = "/login";
    var BANNER_ID = "meniscus-refusal";
    var originalFetch = window.fetch;
    var leaving = false;

    if (typeof originalFetch !== "function") {
        return;
    }

    function isCallbackRequest(resource) {
        var address = resource instanceof Request ? resource.url : String(resource);
        try {
            var url = new URL(address, window.location.href);
            return url.origin === window.location.origin &&
                url.pathname.slice(-CALLBACK_PATH.length) === CALLBACK_PATH;
        } catch (error) {
            return false;
        }
    }

    function goToLogin() {
        if (leaving) {
            return;  // several callbacks fail at once; one redirect is enough
        }
        leaving = true;
        var here = window.location.pathname + window.location.search;
        window.location.assign(LOGIN_PATH + "?next=" + encodeURIComponent(here));
    }

    // The banner at the top of the page (made once), showing `message` as plain text.
    function showRefusal(message) {
        var banner = document.getElementById(BANNER_ID);
        if (!banner) {
            banner = document.createElement("div");
            banner.id = BANNER_ID;
            banner.className = "alert alert-danger alert-dismissible shadow mb-0";
            banner.setAttribute("role", "alert");
            banner.style.cssText = "position: fixed; top: 0.5rem; left: 50%; " +
                "transform: translateX(-50%); z-index: 1090; max-width: 40rem; width: 95%;";
            var text = document.createElement("span");
            text.className = "meniscus-refusal-text";
            var close = document.createElement("button");
            close.type = "button";
            close.className = "btn-close";
            close.setAttribute("aria-label", "Dismiss");
            close.addEventListener("click", function () {
                banner.remove();
            });
            banner.appendChild(text);
            banner.appendChild(close);
            document.body.appendChild(banner);
        }
        banner.querySelector(".meniscus-refusal-text").textContent = "Not allowed: " + message;
    }

    function reportRefusal(response) {
        response.clone().json().then(function (body) {
            showRefusal((body && typeof body.error === "string" && body.error) ||
                        response.statusText || "refused");
        }).catch(function () {
            showRefusal(response.statusText || "refused");
        });
    }

    window.fetch = function (resource) {
        var answer = originalFetch.apply(this, arguments);
        if (!isCallbackRequest(resource)) {
            return answer;
        }
        return answer.then(function (response) {
            if (response.status === 401) {
                goToLogin();
            } else if (response.status === 403) {
                reportRefusal(response);
            }
            return response;
        });
    };
}());
