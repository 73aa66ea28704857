package sso

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fakeCF is Cloud Controller and UAA in one: its root names itself as login and uaa server,
// its token endpoint redeems "good-code" for "user-token" from the client with "secret", and
// the user sees space "visible" only; "broken" answers 500.
func fakeCF(t *testing.T) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			_ = json.NewEncoder(w).Encode(map[string]any{"links": map[string]any{"login": map[string]string{"href": srv.URL}, "uaa": map[string]string{"href": srv.URL}}})
		case r.URL.Path == "/oauth/token":
			id, secret, _ := r.BasicAuth()
			if r.FormValue("grant_type") != "authorization_code" || r.FormValue("code") != "good-code" || id != "dash" || secret != "secret" {
				http.Error(w, `{"error":"invalid_grant"}`, http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "user-token", "expires_in": 600})
		case strings.HasPrefix(r.URL.Path, "/v3/spaces/"):
			switch {
			case r.Header.Get("Authorization") != "bearer user-token":
				w.WriteHeader(http.StatusUnauthorized)
			case r.URL.Path == "/v3/spaces/visible":
				w.WriteHeader(http.StatusOK)
			case r.URL.Path == "/v3/spaces/broken":
				w.WriteHeader(http.StatusInternalServerError)
			default:
				w.WriteHeader(http.StatusNotFound)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

var client = Client{ID: "dash", Secret: "secret", RedirectURI: "https://broker.example/manage/callback"}

// signOn starts a sign-on for path and returns UAA's authorize URL it redirected to.
func signOn(t *testing.T, s *SignOn, path string) *url.URL {
	t.Helper()
	rec := httptest.NewRecorder()
	_, ok, err := s.Token(rec, httptest.NewRequest(http.MethodGet, path, nil), client)
	if ok || err != nil || rec.Code != http.StatusFound {
		t.Fatalf("no session: signed on %v, err %v, status %d; want a redirect", ok, err, rec.Code)
	}
	to, _ := url.Parse(rec.Header().Get("Location"))
	return to
}

func TestASignOnComesBackWithTheUsersTokenToThePageAskedFor(t *testing.T) {
	cf := fakeCF(t)
	s := New(Config{CloudController: cf.URL})
	to := signOn(t, s, "/manage/instances/i-1?refresh=off")
	q := to.Query()
	if to.Path != "/oauth/authorize" || q.Get("client_id") != "dash" || q.Get("redirect_uri") != client.RedirectURI || q.Get("response_type") != "code" || q.Get("state") == "" {
		t.Fatalf("authorize URL %s", to)
	}
	if strings.Contains(to.String(), "secret") {
		t.Error("the client's secret is in the browser's redirect")
	}

	rec := httptest.NewRecorder()
	s.Callback(rec, httptest.NewRequest(http.MethodGet, "/manage/callback?code=good-code&state="+url.QueryEscape(q.Get("state")), nil))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/manage/instances/i-1?refresh=off" {
		t.Fatalf("callback: %d to %q, want back to the page", rec.Code, rec.Header().Get("Location"))
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || strings.Contains(cookies[0].Value, "user-token") {
		t.Fatalf("session cookie %v: want one HttpOnly cookie without the token", cookies)
	}

	req := httptest.NewRequest(http.MethodGet, "/manage/instances/i-1", nil)
	req.AddCookie(cookies[0])
	token, ok, err := s.Token(httptest.NewRecorder(), req, client)
	if token != "user-token" || !ok || err != nil {
		t.Errorf("with the session: %q %v %v, want the user's token", token, ok, err)
	}
	// A state is good for one callback.
	rec = httptest.NewRecorder()
	s.Callback(rec, httptest.NewRequest(http.MethodGet, "/manage/callback?code=good-code&state="+url.QueryEscape(q.Get("state")), nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("a replayed callback: %d, want 400", rec.Code)
	}
}

func TestACallbackThatUAADidNotVouchForSignsNobodyOn(t *testing.T) {
	cf := fakeCF(t)
	s := New(Config{CloudController: cf.URL})
	for name, query := range map[string]func(state string) string{
		"unknown state": func(string) string { return "code=good-code&state=forged" },
		"bad code":      func(state string) string { return "code=bad-code&state=" + url.QueryEscape(state) },
		"UAA's error":   func(state string) string { return "error=access_denied&state=" + url.QueryEscape(state) },
	} {
		state := signOn(t, s, "/manage/instances/i-1").Query().Get("state")
		rec := httptest.NewRecorder()
		s.Callback(rec, httptest.NewRequest(http.MethodGet, "/manage/callback?"+query(state), nil))
		if rec.Code < 400 || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: %d with cookies %v, want a refusal without a session", name, rec.Code, rec.Result().Cookies())
		}
	}
}

func TestSpaceVisibleIsCloudControllersAnswerToTheUsersToken(t *testing.T) {
	cf := fakeCF(t)
	s := New(Config{CloudController: cf.URL})
	ctx := context.Background()
	if ok, err := s.SpaceVisible(ctx, "user-token", "visible"); !ok || err != nil {
		t.Errorf("a visible space: %v %v", ok, err)
	}
	if ok, err := s.SpaceVisible(ctx, "user-token", "other"); ok || err != nil {
		t.Errorf("a space Cloud Controller answers 404 for: %v %v, want not visible", ok, err)
	}
	if ok, err := s.SpaceVisible(ctx, "stolen-token", "visible"); ok || err != nil {
		t.Errorf("a token Cloud Controller refuses: %v %v, want not visible", ok, err)
	}
	if ok, err := s.SpaceVisible(ctx, "user-token", "broken"); ok || err == nil {
		t.Errorf("Cloud Controller's 500: %v %v, want an error", ok, err)
	}
}
