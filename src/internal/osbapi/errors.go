package osbapi

import (
	"fmt"
	"net/http"
)

// Error is an error the platform is meant to see: an HTTP status and the OSB error body
// (spec "Service Broker Errors"). The broker returns these for everything that is the
// request's fault or a defined state; any other error becomes a 500 whose details stay in
// the broker's log.
type Error struct {
	Status           int
	Code             string // the OSB error code ("ConcurrencyError"), empty for most errors
	Description      string // for a person: what went wrong and what to do
	InstanceUsable   *bool
	UpdateRepeatable *bool
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Description)
}

// errorBody is the JSON body of an error response.
type errorBody struct {
	Error            string `json:"error,omitempty"`
	Description      string `json:"description,omitempty"`
	InstanceUsable   *bool  `json:"instance_usable,omitempty"`
	UpdateRepeatable *bool  `json:"update_repeatable,omitempty"`
}

// BadRequest is a 400: the request is malformed or names what the catalog does not have.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Description: fmt.Sprintf(format, args...)}
}

// NotFound is a 404.
func NotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Description: fmt.Sprintf(format, args...)}
}

// Gone is a 410: the instance or binding does not exist (any more).
func Gone(format string, args ...any) *Error {
	return &Error{Status: http.StatusGone, Description: fmt.Sprintf(format, args...)}
}

// Conflict is a 409: the id exists with different attributes.
func Conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Description: fmt.Sprintf(format, args...)}
}

// Unprocessable is a 422 with an OSB error code ("AsyncRequired", "ConcurrencyError",
// "MaintenanceInfoConflict", "RequiresApp") or none.
func Unprocessable(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: code, Description: fmt.Sprintf(format, args...)}
}

// The OSB error codes the spec defines.
const (
	CodeAsyncRequired           = "AsyncRequired"
	CodeConcurrencyError        = "ConcurrencyError"
	CodeMaintenanceInfoConflict = "MaintenanceInfoConflict"
	CodeRequiresApp             = "RequiresApp"
)
