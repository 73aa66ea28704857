package cfstandin

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// startJob records a job for operation on the resource at resourcePath and runs work in the
// background, as Cloud Controller's job workers do: the job is COMPLETE when work returns
// nil, FAILED with the error otherwise. The caller holds s.mu; work runs without it.
func (s *Server) startJob(operation, resourcePath string, work func(ctx context.Context, j *job) *cfError) *job {
	now := time.Now()
	j := &job{guid: newGUID(), operation: operation, state: jobProcessing, resourceLink: resourcePath, created: now, updated: now}
	s.st.jobs[j.guid] = j
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		failure := work(s.ctx, j)
		s.mu.Lock()
		defer s.mu.Unlock()
		j.updated = time.Now()
		if failure != nil {
			j.state = jobFailed
			j.errors = append(j.errors, *failure)
			s.logf("job %s (%s) failed: %s %s", j.guid, operation, failure.Title, failure.Detail)
			return
		}
		j.state = jobComplete
	}()
	return j
}

// setJobState moves a running job to state (POLLING while a broker works).
func (s *Server) setJobState(j *job, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j.state, j.updated = state, time.Now()
}

// getJob is GET /v3/jobs/:guid.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request, _ *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.st.jobs[r.PathValue("guid")]
	if j == nil {
		notFound(w, "Job")
		return
	}
	warnings := []map[string]string{}
	for _, w := range j.warnings {
		warnings = append(warnings, map[string]string{"detail": w})
	}
	errs := j.errors
	if errs == nil {
		errs = []cfError{}
	}
	links := s.links("self", "/v3/jobs/"+j.guid)
	if j.resourceLink != "" {
		links[resourceName(j.resourceLink)] = link{Href: s.url(j.resourceLink)}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"guid": j.guid, "operation": j.operation, "state": j.state,
		"errors": errs, "warnings": warnings,
		"created_at": timestamp(j.created), "updated_at": timestamp(j.updated),
		"links": links,
	})
}

// resourceName is the link name of a job's resource: "service_brokers" for
// "/v3/service_brokers/<guid>".
func resourceName(path string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(path, "/v3/"), "/")
	return name
}
