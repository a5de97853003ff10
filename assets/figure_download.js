// An "SVG" button on every plot's toolbar, beside Plotly's camera (PNG) button.
//
// Plotly's modebar takes custom buttons only as JavaScript objects, which a Python figure
// config cannot carry, so this script adds one to every modebar on the page: when a graph is
// drawn, and again whenever Plotly rebuilds a modebar (pages change, figures update). The
// file name and scale come from the graph's toImageButtonOptions (components/graph_config.py).
// Vanilla JS, nothing fetched: the SVG is drawn in the browser by Plotly.downloadImage.
(function () {
    "use strict";

    var BUTTON_CLASS = "meniscus-svg-download";
    var ICON = '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">' +
        '<path d="M12 3v11m0 0l-4.5-4.5M12 14l4.5-4.5M4 16v4h16v-4" fill="none" ' +
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" ' +
        'stroke-linejoin="round"/></svg>';

    // Save one graph as SVG, named and sized as its PNG would be.
    function downloadSvg(graph) {
        var options = (graph._context && graph._context.toImageButtonOptions) || {};
        Plotly.downloadImage(graph, {
            format: "svg",
            filename: options.filename || "figure",
            width: options.width || graph._fullLayout.width,
            height: options.height || graph._fullLayout.height,
            scale: 1
        });
    }

    function makeButton(graph) {
        var button = document.createElement("a");
        button.className = "modebar-btn " + BUTTON_CLASS;
        button.setAttribute("rel", "tooltip");
        button.setAttribute("data-title", "Download plot as SVG");
        button.setAttribute("role", "button");
        button.setAttribute("aria-label", "Download plot as SVG");
        button.style.color = "rgba(68, 68, 68, 0.45)";
        button.innerHTML = ICON;
        button.addEventListener("click", function (event) {
            event.preventDefault();
            downloadSvg(graph);
        });
        var group = document.createElement("div");
        group.className = "modebar-group";
        group.appendChild(button);
        return group;
    }

    // Give every drawn plot under `root` whose modebar lacks the button one (idempotent).
    function addButtons(root) {
        if (typeof window.Plotly === "undefined" || !root.querySelectorAll) {
            return;
        }
        var graphs = root.querySelectorAll(".js-plotly-plot");
        for (var i = 0; i < graphs.length; i++) {
            var graph = graphs[i];
            var modebar = graph.querySelector(".modebar");
            if (modebar && !modebar.querySelector("." + BUTTON_CLASS)) {
                modebar.insertBefore(makeButton(graph), modebar.firstChild);
            }
        }
    }

    // Batch DOM changes into one pass per animation frame: Dash and Plotly change the DOM
    // many times while a page renders.
    var pending = false;
    function schedule() {
        if (pending) {
            return;
        }
        pending = true;
        window.requestAnimationFrame(function () {
            pending = false;
            addButtons(document);
        });
    }

    function start() {
        addButtons(document);
        new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true});
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
}());
