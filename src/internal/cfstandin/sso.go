package cfstandin

import (
	"html/template"
	"net/http"
	"net/url"
	"time"
)

// Dashboard single sign-on, as Cloud Foundry does it for service dashboards: when a broker is
// registered, Cloud Controller creates a UAA client for each offering's dashboard_client (id,
// secret, redirect_uri); a dashboard sends the user to UAA's /oauth/authorize, UAA logs the user
// in and redirects back with a code, and the dashboard trades the code for the user's token
// with the client's secret (authorization_code grant) to ask Cloud Controller what the user may
// see.

// codeLifetime is how long an authorization code can be traded for a token (UAA: 5 minutes).
const codeLifetime = 5 * time.Minute

// dashboardClient is a UAA client Cloud Controller made from a catalog's dashboard_client.
type dashboardClient struct {
	id, secret, redirectURI string
}

// authorizationCode is an issued code: whose, for which client and redirect URI, until when.
type authorizationCode struct {
	userGUID, clientID, redirectURI string
	expires                         time.Time
}

// registerDashboardClients creates (or updates) the UAA clients of cat's dashboard_clients.
func (st *state) registerDashboardClients(cat catalog) {
	for _, svc := range cat.Services {
		if c := svc.DashboardClient; c != nil && c.ID != "" {
			st.dashboardClients[c.ID] = dashboardClient{id: c.ID, secret: c.Secret, redirectURI: c.RedirectURI}
		}
	}
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>UAA stand-in: log in</title></head>
<body><h1>Log in</h1>{{if .Failed}}<p id="error">Bad credentials</p>{{end}}
<form method="post" action="/oauth/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<label>Email <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="login" type="submit">Sign in</button>
</form></body></html>`))

// authorize is UAA's /oauth/authorize for response_type=code: GET shows the login form, POST
// logs the user in and redirects to the client's redirect_uri with a code and the state. (UAA
// keeps a login session and asks for consent; the stand-in asks for the password every time
// and treats every scope as approved.)
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		uaaError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	params := url.Values{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state"} {
		params.Set(k, r.Form.Get(k))
	}
	s.mu.Lock()
	client, known := s.st.dashboardClients[params.Get("client_id")]
	s.mu.Unlock()
	if !known || params.Get("response_type") != "code" || params.Get("redirect_uri") != client.redirectURI {
		// UAA shows an error page and never redirects to an unregistered URI.
		uaaError(w, http.StatusBadRequest, "invalid_request", "unknown client_id, response_type other than code, or a redirect_uri the client did not register")
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = loginPage.Execute(w, map[string]any{"Params": params})
		return
	}
	s.mu.Lock()
	u := s.st.userByName(r.PostForm.Get("username"))
	if u == nil || !equal(u.password, r.PostForm.Get("password")) {
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = loginPage.Execute(w, map[string]any{"Params": params, "Failed": true})
		return
	}
	code := newGUID()
	s.st.codes[code] = authorizationCode{userGUID: u.guid, clientID: client.id, redirectURI: client.redirectURI, expires: time.Now().Add(codeLifetime)}
	s.mu.Unlock()
	back, _ := url.Parse(client.redirectURI)
	q := back.Query()
	q.Set("code", code)
	if state := params.Get("state"); state != "" {
		q.Set("state", state)
	}
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// codeUser redeems an authorization code (once) for the dashboard client that presents it
// with its secret and the redirect_uri it was issued for; nil when any of that is wrong.
// Called with s.mu held.
func (st *state) codeUser(code, clientID, clientSecret, redirectURI string) *user {
	c, found := st.codes[code]
	delete(st.codes, code)
	client, known := st.dashboardClients[clientID]
	if !found || !known || !equal(client.secret, clientSecret) || c.clientID != clientID || c.redirectURI != redirectURI || time.Now().After(c.expires) {
		return nil
	}
	return st.userByGUID(c.userGUID)
}
