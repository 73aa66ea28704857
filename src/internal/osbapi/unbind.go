package osbapi

import "net/http"

// unbind is DELETE .../service_bindings/:binding_id?service_id=&plan_id=.
func (h *handler) unbind(w http.ResponseWriter, r *http.Request) {
	instanceID, bindingID, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	q := r.URL.Query()
	req := UnbindRequest{InstanceID: instanceID, BindingID: bindingID, ServiceID: q.Get("service_id"), PlanID: q.Get("plan_id"), AcceptsIncomplete: acceptsIncomplete(r)}
	if bad := requireFields([2]string{"service_id", req.ServiceID}, [2]string{"plan_id", req.PlanID}); bad != nil {
		writeError(w, bad)
		return
	}
	if err := h.broker.Unbind(r.Context(), req); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
