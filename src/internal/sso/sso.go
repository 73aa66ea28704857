// Package sso signs app developers on to the broker's developer dashboard through UAA, as Cloud
// Foundry's service dashboards do: the dashboard sends the browser to UAA's /oauth/authorize
// with the offering's dashboard_client (the services file's; Cloud Controller made it a UAA
// client when the broker was registered), UAA sends it back to the client's redirect_uri with a
// code, and the code is traded for the user's access token with the client's secret. What the
// user may see is then Cloud Controller's answer to that token: a space they cannot see is
// answered 404 (or 403), as `cf space` would.
//
// Tokens stay on the broker, in memory, under a random session id: the browser holds only the
// session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS). A broker restart signs everyone
// out.
package sso

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client is a UAA client of the dashboard: an offering's dashboard_client.
type Client struct {
	ID, Secret, RedirectURI string
}

// Config is where Cloud Foundry is and how to reach it.
type Config struct {
	// CloudController is the CF API's URL (https://api.sys.example.com); its root document
	// names UAA's login and token servers.
	CloudController string
	// HTTP reaches Cloud Controller and UAA (their CA trusted); nil: http.DefaultClient.
	HTTP *http.Client
}

// cookieName is the session cookie's.
const cookieName = "docker-broker-dashboard"

// sessionLifetime bounds a session whatever its tokens say.
const sessionLifetime = 8 * time.Hour

// pendingLifetime is how long a sign-on may take at UAA.
const pendingLifetime = 10 * time.Minute

// SignOn signs users on and asks Cloud Controller what they may see.
type SignOn struct {
	cfg Config

	mu       sync.Mutex
	sessions map[string]*session // by session id
	pending  map[string]pending  // sign-ons under way, by their state parameter
	uaa      *endpoints          // discovered on first use
}

type session struct {
	tokens  map[string]token // by client id
	expires time.Time
}

type token struct {
	value   string
	expires time.Time
}

type pending struct {
	client   Client
	returnTo string // the dashboard path the user asked for
	expires  time.Time
}

type endpoints struct{ authorize, token string }

// New returns a SignOn with cfg.
func New(cfg Config) *SignOn {
	if cfg.HTTP == nil {
		cfg.HTTP = http.DefaultClient
	}
	return &SignOn{cfg: cfg, sessions: map[string]*session{}, pending: map[string]pending{}}
}

// Token is the access token of the request's signed-on user for client. Without one it
// redirects the browser to UAA's login, to come back to the request's path, and returns false.
func (s *SignOn) Token(w http.ResponseWriter, r *http.Request, client Client) (string, bool, error) {
	now := time.Now()
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		sess := s.sessions[c.Value]
		var tok token
		if sess != nil && now.Before(sess.expires) {
			tok = sess.tokens[client.ID]
		}
		s.mu.Unlock()
		if tok.value != "" && now.Before(tok.expires) {
			return tok.value, true, nil
		}
	}
	uaa, err := s.endpoints(r.Context())
	if err != nil {
		return "", false, err
	}
	state := randomID()
	s.mu.Lock()
	s.prune(now)
	s.pending[state] = pending{client: client, returnTo: r.URL.RequestURI(), expires: now.Add(pendingLifetime)}
	s.mu.Unlock()
	q := url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {client.RedirectURI}, "state": {state},
		"scope": {"openid cloud_controller_service_permissions.read"}}
	http.Redirect(w, r, uaa.authorize+"?"+q.Encode(), http.StatusFound)
	return "", false, nil
}

// Callback is the redirect_uri's handler: it trades UAA's code for the user's token, keeps it
// in the user's session and sends the browser back to the page it asked for.
func (s *SignOn) Callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	p, found := s.pending[q.Get("state")]
	delete(s.pending, q.Get("state"))
	s.mu.Unlock()
	if !found || time.Now().After(p.expires) {
		http.Error(w, "this sign-on is unknown or took too long: open the dashboard link again", http.StatusBadRequest)
		return
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		http.Error(w, "UAA did not sign you on ("+q.Get("error")+"): open the dashboard link again", http.StatusForbidden)
		return
	}
	tok, err := s.redeem(r.Context(), p.client, q.Get("code"))
	if err != nil {
		http.Error(w, "trading UAA's code for a token failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	id := ""
	if c, err := r.Cookie(cookieName); err == nil {
		id = c.Value
	}
	s.mu.Lock()
	sess := s.sessions[id]
	if sess == nil || time.Now().After(sess.expires) {
		id, sess = randomID(), &session{tokens: map[string]token{}, expires: time.Now().Add(sessionLifetime)}
		s.sessions[id] = sess
	}
	sess.tokens[p.client.ID] = tok
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionLifetime.Seconds())})
	http.Redirect(w, r, p.returnTo, http.StatusFound)
}

// SpaceVisible asks Cloud Controller, with the user's token, whether the user sees the space.
func (s *SignOn) SpaceVisible(ctx context.Context, accessToken, spaceGUID string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.cfg.CloudController, "/")+"/v3/spaces/"+url.PathEscape(spaceGUID), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "bearer "+accessToken)
	res, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return false, fmt.Errorf("asking Cloud Controller for space %s: %w", spaceGUID, err)
	}
	res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound, http.StatusForbidden, http.StatusUnauthorized:
		return false, nil
	}
	return false, fmt.Errorf("cloud Controller answered %s for space %s", res.Status, spaceGUID)
}

// redeem trades an authorization code for the user's access token (authorization_code grant,
// the client authenticating with its secret).
func (s *SignOn) redeem(ctx context.Context, client Client, code string) (token, error) {
	uaa, err := s.endpoints(ctx)
	if err != nil {
		return token{}, err
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {client.RedirectURI}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uaa.token, strings.NewReader(form.Encode()))
	if err != nil {
		return token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(client.ID), url.QueryEscape(client.Secret))
	res, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return token{}, err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&body) != nil || body.AccessToken == "" {
		return token{}, fmt.Errorf("UAA answered %s (is the dashboard_client's secret the one Cloud Foundry registered?)", res.Status)
	}
	return token{value: body.AccessToken, expires: time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)}, nil
}

// endpoints are UAA's authorize and token URLs, from Cloud Controller's root document (its
// login and uaa links), read once.
func (s *SignOn) endpoints(ctx context.Context) (endpoints, error) {
	s.mu.Lock()
	known := s.uaa
	s.mu.Unlock()
	if known != nil {
		return *known, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.cfg.CloudController, "/")+"/", nil)
	if err != nil {
		return endpoints{}, err
	}
	res, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return endpoints{}, fmt.Errorf("reading Cloud Controller's root document (dashboard.cloud_controller): %w", err)
	}
	defer res.Body.Close()
	var doc struct {
		Links map[string]*struct {
			Href string `json:"href"`
		} `json:"links"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return endpoints{}, fmt.Errorf("cloud Controller's root document (dashboard.cloud_controller) is not JSON: %w", err)
	}
	login, uaa := doc.Links["login"], doc.Links["uaa"]
	if login == nil || uaa == nil || login.Href == "" || uaa.Href == "" {
		return endpoints{}, errors.New("cloud Controller's root document names no login or uaa server (is dashboard.cloud_controller the CF API's URL?)")
	}
	e := endpoints{authorize: strings.TrimRight(login.Href, "/") + "/oauth/authorize", token: strings.TrimRight(uaa.Href, "/") + "/oauth/token"}
	s.mu.Lock()
	s.uaa = &e
	s.mu.Unlock()
	return e, nil
}

// prune forgets expired sessions and sign-ons. Called with s.mu held.
func (s *SignOn) prune(now time.Time) {
	for id, sess := range s.sessions {
		if now.After(sess.expires) {
			delete(s.sessions, id)
		}
	}
	for state, p := range s.pending {
		if now.After(p.expires) {
			delete(s.pending, state)
		}
	}
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
