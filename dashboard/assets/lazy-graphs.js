/* Graphs drawn when they come into view, one at a time (dashboard/components/graphs.py).
 *
 * A graph arrives as a box (class "lazy-graph", a pattern-matching id) of the figure's height that holds
 * only a marker (class "lazy-graph-pending") and carries the dcc.Graph's properties as JSON in its
 * data-graph attribute. Once the box enters the viewport, the graph replaces the marker
 * through dash_clientside.set_props (Dash's API for setting a component's properties from the browser);
 * from there on it is an ordinary dcc.Graph. A box whose marker is back (the page was sent again) is
 * drawn again. A browser without IntersectionObserver draws every graph at once.
 *
 * Graphs are drawn one after the other, each in a task of its own: plotly.js draws a figure in one go
 * (tens of milliseconds, four times that on a phone), and several at once would keep the page from
 * answering a tap or a key for all that time.
 *
 * Pages are drawn and redrawn by React at any time, so boxes are looked for after every change.
 */
(function () {
    "use strict";

    var PENDING = ".lazy-graph > .lazy-graph-pending";
    var queue = [];
    var drawing = null;  // the box being drawn, until its figure is there
    var resting = false;  // between two graphs, until the next task
    var giveUp = null;

    var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
            if (entry.isIntersecting) {
                observer.unobserve(entry.target);
                queue.push(entry.target);
            }
        });
        next();
    }, {rootMargin: "0px"}) : null;  // drawn as it enters the view: a box just below the fold costs nothing at load

    function pending(box) {
        return box.isConnected && box.querySelector(":scope > .lazy-graph-pending") !== null;
    }

    function next() {
        if (drawing || resting) {
            return;
        }
        var box;
        while ((box = queue.shift()) && !pending(box)) { /* gone, or drawn already */ }
        if (!box) {
            return;
        }
        drawing = box;
        giveUp = setTimeout(done, 10000);  // plotly.js did not load or the figure failed: go on
        window.dash_clientside.set_props(JSON.parse(box.id), {
            children: {type: "Graph", namespace: "dash_core_components",
                       props: JSON.parse(box.getAttribute("data-graph"))}
        });
    }

    function done() {
        clearTimeout(giveUp);
        drawing = null;
        resting = true;
        setTimeout(function () {  // the next graph in a task of its own
            resting = false;
            next();
        }, 0);
    }

    function watch() {
        if (drawing && (!drawing.isConnected || drawing.querySelector(".main-svg"))) {
            done();
        }
        document.querySelectorAll(PENDING).forEach(function (marker) {
            var box = marker.parentElement;
            if (observer) {
                observer.observe(box);  // observing a box twice is observing it once
            } else if (queue.indexOf(box) < 0) {
                queue.push(box);
            }
        });
        next();
    }

    new MutationObserver(watch).observe(document.documentElement, {subtree: true, childList: true});
})();
