package osbapi

import (
	"context"
	"math"
	"net/http"
	"strconv"
)

// lastOperation is GET /v2/service_instances/:instance_id/last_operation.
func (h *handler) lastOperation(w http.ResponseWriter, r *http.Request) {
	h.pollOperation(w, r, h.broker.LastOperation)
}

// pollOperation serves both last_operation endpoints, which differ only in what they ask.
func (h *handler) pollOperation(w http.ResponseWriter, r *http.Request, poll func(context.Context, LastOperationRequest) (LastOperationResponse, error)) {
	instanceID, bindingID, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	q := r.URL.Query()
	req := LastOperationRequest{InstanceID: instanceID, BindingID: bindingID, ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id"), Operation: q.Get("operation")}
	resp, err := poll(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if resp.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(resp.RetryAfter.Seconds()))))
	}
	writeJSON(w, http.StatusOK, resp)
}
