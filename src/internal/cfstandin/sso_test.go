package cfstandin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A dashboard's sign-on: registering the broker made its dashboard_client a UAA client; the
// login form takes only that client's redirect_uri; a logged-in user is sent back there with
// a code, which the client redeems once, with its secret, for the user's token.
func TestDashboardSignOnIssuesACodeForTheUsersToken(t *testing.T) {
	b := newOSBBroker(t)
	s := Start(Options{AdminPassword: "pw"})
	defer s.Close()
	setup(t, s, b)
	s.AddUser("dev", "dev-pw")
	client := s.httpServer.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	params := url.Values{"client_id": {"cache-dashboard"}, "redirect_uri": {"https://dash.example/callback"}, "response_type": {"code"}, "state": {"st-1"}}

	authorize := func(method string, form url.Values) *http.Response {
		t.Helper()
		var res *http.Response
		var err error
		if method == http.MethodGet {
			res, err = client.Get(s.URL + "/oauth/authorize?" + form.Encode())
		} else {
			res, err = client.PostForm(s.URL+"/oauth/authorize", form)
		}
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	with := func(kv ...string) url.Values {
		form := url.Values{}
		for k, v := range params {
			form[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return form
	}
	if res := authorize(http.MethodGet, params); res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("the login form: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res := authorize(http.MethodGet, with("redirect_uri", "https://evil.example/")); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a redirect_uri the client did not register: %d, want 400", res.StatusCode)
	}
	if res := authorize(http.MethodPost, with("username", "dev", "password", "wrong")); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d, want 401", res.StatusCode)
	}
	res := authorize(http.MethodPost, with("username", "dev", "password", "dev-pw"))
	back, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || back.Host != "dash.example" || back.Query().Get("state") != "st-1" || back.Query().Get("code") == "" {
		t.Fatalf("a login: %d to %q, want the redirect_uri with a code and the state", res.StatusCode, back)
	}

	redeem := func(secret string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(url.Values{
			"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")}, "redirect_uri": {"https://dash.example/callback"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("cache-dashboard", secret)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(res.Body).Decode(&tok)
		return res.StatusCode, tok.AccessToken
	}
	status, token := redeem("dashboard-secret")
	if status != http.StatusOK || token == "" {
		t.Fatalf("redeeming the code: %d", status)
	}
	if c, ok := s.verify(token); !ok || c.UserName != "dev" || c.ClientID != "cache-dashboard" {
		t.Errorf("the token's claims %+v, want dev's for the dashboard client", c)
	}
	if status, _ := redeem("dashboard-secret"); status != http.StatusUnauthorized {
		t.Errorf("a code redeemed twice: %d, want 401", status)
	}
	back, _ = url.Parse(authorize(http.MethodPost, with("username", "dev", "password", "dev-pw")).Header.Get("Location"))
	if status, _ := redeem("not-the-secret"); status != http.StatusUnauthorized {
		t.Errorf("a code redeemed with another secret: %d, want 401", status)
	}
}
