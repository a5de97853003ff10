// Keep the address bar reproducing the view without adding history entries: pages write the
// query string of their current view into a dcc.Store and this replaces the URL's query.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    url: {
        replaceQuery: function (search) {
            if (typeof search !== "string" || window.location.search === search) {
                return;
            }
            window.history.replaceState(window.history.state, "",
                window.location.pathname + search + window.location.hash);
        }
    }
});
