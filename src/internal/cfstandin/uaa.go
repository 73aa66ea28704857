package cfstandin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// tokenLifetime is how long an access token is valid; the cf CLI refreshes it when less
// than a minute is left.
const tokenLifetime = time.Hour

// root is GET /: the discovery document clients start from. The stand-in is its own UAA and
// login server.
func (s *Server) root(w http.ResponseWriter, _ *http.Request) {
	v3 := map[string]any{"href": s.url("/v3"), "meta": map[string]string{"version": APIVersion}}
	writeJSON(w, http.StatusOK, map[string]any{"links": map[string]any{
		"self":                link{Href: s.URL},
		"cloud_controller_v2": nil,
		"cloud_controller_v3": v3,
		"network_policy_v0":   nil,
		"network_policy_v1":   nil,
		"login":               link{Href: s.URL},
		"uaa":                 link{Href: s.URL},
		"credhub":             nil,
		"routing":             nil,
		"logging":             nil,
		"log_cache":           nil,
		"log_stream":          nil,
		"app_ssh":             nil,
	}})
}

// v3Root is GET /v3: links to the served resources.
func (s *Server) v3Root(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"links": s.links(
		"self", "/v3", "info", "/v3/info", "jobs", "/v3/jobs", "organizations", "/v3/organizations",
		"roles", "/v3/roles", "spaces", "/v3/spaces", "service_brokers", "/v3/service_brokers",
		"service_offerings", "/v3/service_offerings", "service_plans", "/v3/service_plans",
		"service_instances", "/v3/service_instances", "service_credential_bindings", "/v3/service_credential_bindings",
	)})
}

// info is GET /v3/info.
func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name": "cfstandin", "build": "", "version": 0, "description": "Cloud Foundry stand-in for tests",
		"osbapi_version": "2.17", "cli_version": map[string]any{"minimum": "", "recommended": ""},
		"custom": map[string]any{}, "links": s.links("self", "/v3/info"),
	})
}

// loginInfo is GET /login: what the cf CLI asks for when it logs in interactively.
func (s *Server) loginInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"app":       map[string]string{"version": "77.0.0"},
		"zone_name": "uaa",
		"links":     map[string]string{"uaa": s.URL, "login": s.URL},
		"prompts": map[string][]string{
			"username": {"text", "Email"},
			"password": {"password", "Password"},
		},
	})
}

// token is UAA's POST /oauth/token for the password, client_credentials, refresh_token and
// authorization_code (dashboard single sign-on, sso.go) grants. The client authenticates with basic auth (the cf CLI as "cf" with an empty secret)
// or with client_id/client_secret form fields.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		uaaError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	clientID, clientSecret, ok := r.BasicAuth()
	if !ok {
		clientID, clientSecret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	var u *user
	s.mu.Lock()
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "password":
		if found := s.st.userByName(r.PostForm.Get("username")); found != nil && equal(found.password, r.PostForm.Get("password")) {
			u = found
		}
	case "client_credentials":
		if s.opts.AdminClientID != "" && equal(clientID, s.opts.AdminClientID) && equal(clientSecret, s.opts.AdminClientSecret) {
			u = &user{guid: clientID, name: clientID, admin: true, client: true}
		}
	case "refresh_token":
		u = s.st.userByGUID(s.refreshTokenUser(r.PostForm.Get("refresh_token")))
	case "authorization_code":
		u = s.st.codeUser(r.PostForm.Get("code"), clientID, clientSecret, r.PostForm.Get("redirect_uri"))
	default:
		s.mu.Unlock()
		uaaError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+grant)
		return
	}
	s.mu.Unlock()
	if u == nil {
		uaaError(w, http.StatusUnauthorized, "unauthorized", "Bad credentials")
		return
	}
	body := map[string]any{
		"access_token": s.accessToken(u, clientID),
		"token_type":   "bearer",
		"expires_in":   int(tokenLifetime.Seconds()),
		"scope":        strings.Join(scopes(u), " "),
		"jti":          newGUID(),
	}
	if !u.client {
		body["refresh_token"] = s.refreshToken(u)
	}
	writeJSON(w, http.StatusOK, body)
}

func uaaError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func scopes(u *user) []string {
	if u.admin {
		return []string{"cloud_controller.admin", "cloud_controller.read", "cloud_controller.write", "openid"}
	}
	return []string{"cloud_controller.read", "cloud_controller.write", "openid"}
}

// claims are the JWT claims the stand-in issues and the cf CLI reads (user_name, user_id
// and origin for a user, client_id for a client, exp for refreshing).
type claims struct {
	UserID   string   `json:"user_id,omitempty"`
	UserName string   `json:"user_name,omitempty"`
	Origin   string   `json:"origin,omitempty"`
	ClientID string   `json:"client_id"`
	Subject  string   `json:"sub"`
	Scope    []string `json:"scope"`
	Issuer   string   `json:"iss"`
	IssuedAt int64    `json:"iat"`
	Expiry   int64    `json:"exp"`
}

// accessToken issues a JWT signed with HS256 by the stand-in's key.
func (s *Server) accessToken(u *user, clientID string) string {
	now := time.Now()
	c := claims{ClientID: clientID, Subject: u.guid, Scope: scopes(u), Issuer: s.url("/oauth/token"), IssuedAt: now.Unix(), Expiry: now.Add(tokenLifetime).Unix()}
	if !u.client {
		c.UserID, c.UserName, c.Origin = u.guid, u.name, "uaa"
	}
	header, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	payload, _ := json.Marshal(c)
	signed := b64(header) + "." + b64(payload)
	return signed + "." + b64(s.sign(signed))
}

func (s *Server) sign(data string) []byte {
	mac := hmac.New(sha256.New, s.tokenKey)
	mac.Write([]byte(data))
	return mac.Sum(nil)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// refreshToken is an opaque token naming the user, signed so it cannot be forged.
func (s *Server) refreshToken(u *user) string {
	return u.guid + "." + b64(s.sign("refresh:"+u.guid))
}

func (s *Server) refreshTokenUser(token string) string {
	guid, sig, _ := strings.Cut(token, ".")
	if !hmac.Equal([]byte(sig), []byte(b64(s.sign("refresh:"+guid)))) {
		return ""
	}
	return guid
}

// authenticated requires a valid bearer token and passes its user to h.
func (s *Server) authenticated(h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
		if !ok {
			token, ok = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if !ok {
			writeError(w, http.StatusUnauthorized, errNotAuthenticated, "Authentication error")
			return
		}
		c, valid := s.verify(token)
		if !valid {
			writeError(w, http.StatusUnauthorized, errInvalidAuthToken, "Invalid Auth Token")
			return
		}
		var u *user
		if c.UserID == "" {
			u = &user{guid: c.ClientID, name: c.ClientID, admin: true, client: true}
		} else {
			s.mu.Lock()
			u = s.st.userByGUID(c.UserID)
			s.mu.Unlock()
		}
		if u == nil {
			writeError(w, http.StatusUnauthorized, errInvalidAuthToken, "Invalid Auth Token")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), clientIDKey{}, c.ClientID)), u)
	}
}

type clientIDKey struct{}

// clientIDOf is the UAA client the request's token was issued to ("cf" for the cf CLI):
// Cloud Controller sends it to brokers as a service key's credential_client_id.
func clientIDOf(r *http.Request) string {
	id, _ := r.Context().Value(clientIDKey{}).(string)
	return id
}

// verify checks a token's signature and expiry and returns its claims.
func (s *Server) verify(token string) (claims, bool) {
	var c claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.sign(parts[0]+"."+parts[1])) {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, false
	}
	return c, time.Now().Unix() < c.Expiry
}
