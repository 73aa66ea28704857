package osbapi

import "net/http"

// bind is PUT /v2/service_instances/:instance_id/service_bindings/:binding_id.
func (h *handler) bind(w http.ResponseWriter, r *http.Request) {
	instanceID, bindingID, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	req := BindRequest{InstanceID: instanceID, BindingID: bindingID, AcceptsIncomplete: acceptsIncomplete(r)}
	if bad := decodeBody(w, r, &req); bad != nil {
		writeError(w, bad)
		return
	}
	if bad := firstProblem(
		requireFields([2]string{"service_id", req.ServiceID}, [2]string{"plan_id", req.PlanID}),
		requireObject("parameters", req.Parameters),
		requireObject("context", req.Context),
		requireObject("bind_resource", req.BindResource),
	); bad != nil {
		writeError(w, bad)
		return
	}
	resp, err := h.broker.Bind(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if resp.AlreadyExists {
		status = http.StatusOK
	}
	writeJSON(w, status, resp.forVersion(requestAPIVersion(r)))
}
