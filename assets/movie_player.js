// Client-side behaviour of the IRM movie player (components/movie_player.py): no server
// round trip per frame; the browser fetches (and caches) one PNG per frame from /frames/.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    movie: {
        // Play/pause: the timer runs while playing.
        toggle: function (nClicks, disabled) {
            if (!nClicks) {
                return [true, "▶ Play"];
            }
            return disabled ? [false, "❚❚ Pause"] : [true, "▶ Play"];
        },
        // One timer tick: the next frame, looping back to the first after the last.
        step: function (nIntervals, value, meta) {
            if (!meta || !nIntervals) {
                return window.dash_clientside.no_update;
            }
            const next = (value || 0) + 1;
            return next >= meta.n_frames ? 0 : next;
        },
        // Frame period from the speed (× real time), never faster than min_period_ms.
        period: function (speed, meta) {
            const factor = parseFloat(speed) || 1;
            return Math.max(meta.min_period_ms, 1000 * meta.frame_interval_s / factor);
        },
        // Show a frame: swap the image, label it, keep the URL reproducing the view, move the
        // cursor on the E–t plot, and preload the next frame so playback does not stutter.
        show: function (value, view, meta, figure) {
            const index = Math.max(0, Math.min(meta.n_frames - 1, value || 0));
            const src = "/frames/" + meta.spot_id + "/" + index + ".png?view=" + view;
            const t = meta.times_s[index];
            const params = new URLSearchParams(window.location.search);
            params.set("frame", index);
            params.set("view", view);
            window.history.replaceState(window.history.state, "",
                window.location.pathname + "?" + params.toString());
            if (index + 1 < meta.n_frames) {
                new Image().src = "/frames/" + meta.spot_id + "/" + (index + 1) + ".png?view=" + view;
            }
            let moved = window.dash_clientside.no_update;
            if (figure && figure.layout && figure.layout.shapes) {
                const shapes = figure.layout.shapes.map(function (shape) {
                    return shape.name === "frame-cursor" ? Object.assign({}, shape, {x0: t, x1: t}) : shape;
                });
                moved = Object.assign({}, figure, {layout: Object.assign({}, figure.layout, {shapes: shapes})});
            }
            const label = "frame " + index + " / " + (meta.n_frames - 1) + " · t = " + t.toFixed(2) + " s";
            return [src, label, moved];
        }
    }
});
