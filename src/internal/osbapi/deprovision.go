package osbapi

import "net/http"

// deprovision is DELETE /v2/service_instances/:instance_id?service_id=&plan_id=.
func (h *handler) deprovision(w http.ResponseWriter, r *http.Request) {
	instanceID, _, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	q := r.URL.Query()
	req := DeprovisionRequest{InstanceID: instanceID, ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id"), AcceptsIncomplete: acceptsIncomplete(r)}
	if bad := requireFields([2]string{"service_id", req.ServiceID}, [2]string{"plan_id", req.PlanID}); bad != nil {
		writeError(w, bad)
		return
	}
	resp, err := h.broker.Deprovision(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeOperation(w, resp)
}
