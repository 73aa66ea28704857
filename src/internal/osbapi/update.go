package osbapi

import "net/http"

// update is PATCH /v2/service_instances/:instance_id.
func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	instanceID, _, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	req := UpdateRequest{InstanceID: instanceID, AcceptsIncomplete: acceptsIncomplete(r)}
	if bad := decodeBody(w, r, &req); bad != nil {
		writeError(w, bad)
		return
	}
	if bad := firstProblem(
		requireFields([2]string{"service_id", req.ServiceID}),
		requireObject("parameters", req.Parameters),
		requireObject("context", req.Context),
	); bad != nil {
		writeError(w, bad)
		return
	}
	resp, err := h.broker.Update(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeOperation(w, resp)
}

// writeOperation answers an update or deprovision: 202 when it goes on, else 200.
func writeOperation(w http.ResponseWriter, resp OperationResponse) {
	if resp.Async {
		writeJSON(w, http.StatusAccepted, resp)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
