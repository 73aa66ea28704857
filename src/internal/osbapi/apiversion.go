package osbapi

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// apiVersion is an OSB API version as a platform sends it in X-Broker-API-Version
// ("MAJOR.MINOR"). Platforms keep sending the version they were built for, years after newer
// ones appeared (Kubernetes Service Catalog's client stops at 2.14), and may only be sent what
// that version defines: an answer shaped for a newer version can fail a strict decoder.
type apiVersion struct{ major, minor int }

// latestAPIVersion is the version this broker implements; its answers are shaped for it.
var latestAPIVersion = apiVersion{2, 17}

// endpointsSince is the first version whose binding response (PUT and GET of a binding) has
// `endpoints`. The history, from the spec repository openservicebrokerapi/servicebroker
// (spec.md, release-notes.md) and its pull requests:
//
//   - up to v2.14 (2018-07-24) a binding response has credentials, syslog_drain_url,
//     route_service_url and volume_mounts (GET adds parameters), and no endpoints;
//   - pull request #632 "Add binding endpoints" (opened 2019-01-11, split out of the network
//     metadata proposal #586) added them, released in v2.15 (2019-06-11; release notes: "Added
//     list of endpoints to create Service Binding response body"), for PUT and GET of a
//     binding: an array of Endpoint objects {host*: string, ports*: array of strings, each
//     a port ("443") or a range ("9000-9010"), protocol: "tcp" | "udp" | "all", default tcp},
//     the shape v2.16 and v2.17 keep;
//   - sigs.k8s.io/go-open-service-broker-client/v2, the client of Kubernetes Service Catalog,
//     speaks 2.11 to 2.14 (its LatestAPIVersion is 2.14), yet since its pull request #166
//     (August 2020, "part of 2.15 support") it decodes endpoints[].ports of every 200/201 bind
//     and GET binding answer into []uint16 before it drops endpoints unless alpha features are
//     on: a string port fails the whole bind ("cannot unmarshal string into Go struct field
//     Endpoint.endpoints.ports of type uint16"), and a range could never fit anyway.
//
// So a platform that sends 2.14 or older gets no endpoints (its version has none), and one
// that sends 2.15 or newer (Cloud Foundry sends 2.17) gets them in the spec's shape.
var endpointsSince = apiVersion{2, 15}

// before reports whether v is an older version than w.
func (v apiVersion) before(w apiVersion) bool {
	return v.major < w.major || v.major == w.major && v.minor < w.minor
}

func (v apiVersion) String() string {
	return strconv.Itoa(v.major) + "." + strconv.Itoa(v.minor)
}

// parseAPIVersion reads X-Broker-API-Version. Only 2.x is accepted, any minor (osb-notes
// §1.8: brokerapi and osb-checker both accept every 2.x); a minor too large for an int is
// simply newer than anything this broker knows.
func parseAPIVersion(v string) (apiVersion, bool) {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || major != "2" || minor == "" || strings.Trim(minor, "0123456789") != "" {
		return apiVersion{}, false
	}
	n, err := strconv.Atoi(minor)
	if err != nil {
		n = math.MaxInt // all digits, so only out of range
	}
	return apiVersion{2, n}, true
}

type apiVersionKey struct{}

// requireAPIVersion answers 412 unless X-Broker-API-Version is 2.x (osb-notes §1.8: 412, any
// 2.x), and hands the version to the endpoint, which shapes its answer for it.
func requireAPIVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("X-Broker-API-Version")
		v, ok := parseAPIVersion(header)
		if !ok {
			writeJSON(w, http.StatusPreconditionFailed, errorBody{Description: "X-Broker-API-Version header " + quoteOrMissing(header) + ": this broker speaks OSB API 2.x (2.17), send X-Broker-API-Version: 2.17"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiVersionKey{}, v)))
	})
}

// requestAPIVersion is the version the platform sent with r; the latest one for a request that
// did not pass requireAPIVersion (there is none on the OSB endpoints).
func requestAPIVersion(r *http.Request) apiVersion {
	if v, ok := r.Context().Value(apiVersionKey{}).(apiVersion); ok {
		return v
	}
	return latestAPIVersion
}

// forVersion is the binding response as version v defines it. The broker keeps one response
// per binding, in the latest version's shape; each answer is cut down to what the asking
// platform's version has.
func (resp BindResponse) forVersion(v apiVersion) BindResponse {
	if v.before(endpointsSince) {
		resp.Endpoints = nil
	}
	return resp
}
