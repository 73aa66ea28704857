package dashboard

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/sso"
)

// The app developer's dashboard: the page of one instance, which Cloud Foundry links to as the
// instance's dashboard_url (`cf service NAME`). It needs no broker credential: the developer
// signs on through UAA with the offering's dashboard_client, and sees the instance only when
// Cloud Foundry lets them see its space. It shows status, plan, where to connect (host and
// ports) and the end of the container's log, redacted; never a credential.

// DeveloperPrefix is where the developer's pages are; the broker routes everything under it to
// DeveloperHandler, without its own authentication.
const DeveloperPrefix = "/manage"

// CallbackPath is where UAA sends the browser back to: a dashboard_client's redirect_uri is
// the broker's external URL followed by it.
const CallbackPath = DeveloperPrefix + "/callback"

// DeveloperSource is what the developer's pages show (package broker implements it).
type DeveloperSource interface {
	DeveloperInstance(ctx context.Context, id string, logLines int) (view DeveloperView, found bool, err error)
}

// SignOn signs developers on and tells what they may see (package sso implements it).
type SignOn interface {
	// Token is the signed-on user's access token for client; without one it sends the browser
	// to sign on and returns false.
	Token(w http.ResponseWriter, r *http.Request, client sso.Client) (token string, signedOn bool, err error)
	// Callback is where UAA sends the browser back to.
	Callback(w http.ResponseWriter, r *http.Request)
	// SpaceVisible asks Cloud Foundry whether the token's user sees the space.
	SpaceVisible(ctx context.Context, token, spaceGUID string) (bool, error)
}

// DeveloperHandler serves the developer's pages at DeveloperPrefix.
func DeveloperHandler(src DeveloperSource, signOn SignOn, log *slog.Logger) http.Handler {
	d := &developer{src: src, signOn: signOn, log: log, clock: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DeveloperPrefix+"/instances/{id}", d.instance)
	mux.HandleFunc("GET "+CallbackPath, signOn.Callback)
	mux.Handle("GET "+DeveloperPrefix+"/style.css", http.StripPrefix(DeveloperPrefix, http.FileServerFS(styleSheet{assets})))
	return secureHeaders(mux)
}

type developer struct {
	src    DeveloperSource
	signOn SignOn
	log    *slog.Logger
	clock  func() time.Time
}

// developerPage is the model of the developer's page.
type developerPage struct {
	view
	InstanceDetail
}

func (d *developer) instance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v, found, err := d.src.DeveloperInstance(ctx, r.PathValue("id"), logLines)
	if err != nil {
		d.fail(w, r, "reading the instance", err)
		return
	}
	// An instance without a developer dashboard answers as an unknown one: the page tells
	// nobody which instances exist.
	if !found || v.Client == nil {
		http.Error(w, "no such instance: it may have been deleted", http.StatusNotFound)
		return
	}
	token, signedOn, err := d.signOn.Token(w, r, *v.Client)
	if err != nil {
		d.fail(w, r, "starting the sign-on", err)
		return
	}
	if !signedOn {
		return // on the way to UAA
	}
	visible, err := d.signOn.SpaceVisible(ctx, token, v.SpaceGUID)
	if err != nil {
		d.fail(w, r, "asking Cloud Foundry for the instance's space", err)
		return
	}
	if !visible {
		http.Error(w, "your Cloud Foundry user cannot see the space of this instance: ask a manager of the space for a role in it", http.StatusForbidden)
		return
	}
	page := developerPage{view: newView(r, d.clock, cmp.Or(v.Name, v.ID)), InstanceDetail: v.InstanceDetail}
	page.Base = DeveloperPrefix
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, "developer.html", page); err != nil {
		d.log.Error("developer dashboard: rendering failed", "path", r.URL.Path, "error", err.Error())
	}
}

// fail answers 500 and logs why: the details may name Cloud Foundry's or the engine's internals.
func (d *developer) fail(w http.ResponseWriter, r *http.Request, doing string, err error) {
	d.log.Error("developer dashboard: "+doing+" failed", "path", r.URL.Path, "error", err.Error())
	http.Error(w, doing+" failed; the broker's operator finds the details in its log", http.StatusInternalServerError)
}
