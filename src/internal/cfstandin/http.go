package cfstandin

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// cfError is one entry of Cloud Controller's error body {"errors":[...]} and of a job's
// errors. Codes and titles are cloud_controller_ng's (errors/v2.yml, errors/v3.yml).
type cfError struct {
	Code   int    `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// The errors the stand-in answers with.
var (
	errNotAuthenticated    = cfError{Code: 10002, Title: "CF-NotAuthenticated"}
	errInvalidAuthToken    = cfError{Code: 1000, Title: "CF-InvalidAuthToken"}
	errNotAuthorized       = cfError{Code: 10003, Title: "CF-NotAuthorized"}
	errNotFound            = cfError{Code: 10000, Title: "CF-NotFound"}
	errResourceNotFound    = cfError{Code: 10010, Title: "CF-ResourceNotFound"}
	errMessageParse        = cfError{Code: 1001, Title: "CF-MessageParseError"}
	errBadQueryParameter   = cfError{Code: 10005, Title: "CF-BadQueryParameter"}
	errUnprocessable       = cfError{Code: 10008, Title: "CF-UnprocessableEntity"}
	errBrokerNotRemovable  = cfError{Code: 270010, Title: "CF-ServiceBrokerNotRemovable"}
	errCatalogInvalid      = cfError{Code: 270012, Title: "CF-ServiceBrokerCatalogInvalid"}
	errBrokerRejected      = cfError{Code: 270020, Title: "CF-ServiceBrokerRequestRejected"}
	errBrokerMalformed     = cfError{Code: 270021, Title: "CF-ServiceBrokerRequestMalformed"}
	errBrokerUnreachable   = cfError{Code: 10001, Title: "CF-ServiceBrokerApiUnreachable"}
	errBrokerBadResponse   = cfError{Code: 10001, Title: "CF-ServiceBrokerBadResponse"}
	errProvisionFailed     = cfError{Code: 60030, Title: "CF-ServiceInstanceProvisionFailed"}
	errDeprovisionFailed   = cfError{Code: 60011, Title: "CF-ServiceInstanceDeprovisionFailed"}
	errOperationInProgress = cfError{Code: 60016, Title: "CF-AsyncServiceInstanceOperationInProgress"}
	errBindingFailed       = cfError{Code: 90001, Title: "CF-ServiceBindingInvalid"}
	errUnableToPerform     = cfError{Code: 10009, Title: "CF-UnableToPerform"}
)

// with returns the error with its detail.
func (e cfError) with(format string, args ...any) cfError {
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

func writeError(w http.ResponseWriter, status int, e cfError, detail string) {
	e.Detail = detail
	writeJSON(w, status, map[string]any{"errors": []cfError{e}})
}

func notFound(w http.ResponseWriter, what string) {
	writeError(w, http.StatusNotFound, errResourceNotFound, what+" not found")
}

func unprocessable(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusUnprocessableEntity, errUnprocessable, fmt.Sprintf(format, args...))
}

func forbidden(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, errNotAuthorized, "You are not authorized to perform the requested action")
}

// decode reads a JSON request body into dst, answering 422 when it cannot.
func decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(data, dst)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, errMessageParse, "Request invalid due to parse error: "+err.Error())
		return false
	}
	return true
}

// accepted answers 202 with the job's URL in Location, as Cloud Controller does for
// asynchronous operations.
func (s *Server) accepted(w http.ResponseWriter, j *job) {
	w.Header().Set("Location", s.url("/v3/jobs/"+j.guid))
	w.WriteHeader(http.StatusAccepted)
}

// link is a JSON link object.
type link struct {
	Href string `json:"href"`
}

func (s *Server) links(kv ...string) map[string]link {
	links := map[string]link{}
	for i := 0; i+1 < len(kv); i += 2 {
		links[kv[i]] = link{Href: s.url(kv[i+1])}
	}
	return links
}

// relationship is {"data":{"guid":...}} ({"data":null} for no guid).
func relationship(guid string) map[string]any {
	if guid == "" {
		return map[string]any{"data": nil}
	}
	return map[string]any{"data": map[string]string{"guid": guid}}
}

// query is a list request's parameters.
type query struct {
	values url.Values
}

// list returns the comma-separated values of a filter, nil when absent.
func (q query) list(key string) []string {
	v := q.values.Get(key)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// matches tells whether value passes the filter key (an absent filter passes everything).
func (q query) matches(key, value string) bool {
	values := q.list(key)
	if values == nil {
		return true
	}
	for _, v := range values {
		if v == value {
			return true
		}
	}
	return false
}

// writeList answers a list request with one page of resources, Cloud Controller's
// pagination object and, when given, the included resources.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, resources []any, included map[string][]any) {
	q := r.URL.Query()
	page, perPage := 1, 50
	for _, p := range []struct {
		key string
		dst *int
		max int
	}{{"page", &page, 1 << 30}, {"per_page", &perPage, 5000}} {
		if v := q.Get(p.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > p.max {
				writeError(w, http.StatusBadRequest, errBadQueryParameter, fmt.Sprintf("The query parameter is invalid: %s must be between 1 and %d", p.key, p.max))
				return
			}
			*p.dst = n
		}
	}
	total := len(resources)
	pages := max(1, (total+perPage-1)/perPage)
	start, end := min((page-1)*perPage, total), min(page*perPage, total)
	pageURL := func(n int) any {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(perPage))
		return link{Href: s.url(r.URL.Path + "?" + v.Encode())}
	}
	var next, previous any
	if page < pages {
		next = pageURL(page + 1)
	}
	if page > 1 {
		previous = pageURL(page - 1)
	}
	body := map[string]any{
		"pagination": map[string]any{
			"total_results": total, "total_pages": pages,
			"first": pageURL(1), "last": pageURL(pages), "next": next, "previous": previous,
		},
		"resources": append([]any{}, resources[start:end]...),
	}
	if len(included) > 0 {
		body["included"] = included
	}
	writeJSON(w, http.StatusOK, body)
}

func certPEM(cert *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
}
