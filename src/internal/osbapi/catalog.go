package osbapi

import (
	"net/http"
)

// catalog is GET /v2/catalog.
func (h *handler) catalog(w http.ResponseWriter, r *http.Request) {
	body, err := h.broker.Catalog(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
