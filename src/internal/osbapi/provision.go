package osbapi

import "net/http"

// provision is PUT /v2/service_instances/:instance_id.
func (h *handler) provision(w http.ResponseWriter, r *http.Request) {
	instanceID, _, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	req := ProvisionRequest{InstanceID: instanceID, AcceptsIncomplete: acceptsIncomplete(r)}
	if bad := decodeBody(w, r, &req); bad != nil {
		writeError(w, bad)
		return
	}
	// organization_guid and space_guid are deprecated in favour of context but still REQUIRED.
	if bad := firstProblem(
		requireFields([2]string{"service_id", req.ServiceID}, [2]string{"plan_id", req.PlanID},
			[2]string{"organization_guid", req.OrganizationGUID}, [2]string{"space_guid", req.SpaceGUID}),
		requireObject("parameters", req.Parameters),
		requireObject("context", req.Context),
	); bad != nil {
		writeError(w, bad)
		return
	}
	resp, err := h.broker.Provision(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch {
	case resp.Async:
		writeJSON(w, http.StatusAccepted, resp)
	case resp.AlreadyExists:
		writeJSON(w, http.StatusOK, resp)
	default:
		writeJSON(w, http.StatusCreated, resp)
	}
}
