package registrar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"

	"github.com/cloudfoundry/go-cfclient/v3/resource"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/upgrade"
)

// UpgradeConfig is the upgrade-all-instances errand's config file, rendered by its job
// (templates/upgrade-all-instances.json.erb): the errands' cf and broker sections, and the
// rollout's policy (canaries, max_in_flight, attempts, backoff) at the top level.
type UpgradeConfig struct {
	Errand string `json:"errand"` // always UpgradeErrandName
	// CF is the Cloud Foundry the broker is registered with. With its api_url set the
	// instances are upgraded through Cloud Foundry, so that its records change too; left
	// empty, directly through the broker.
	CF     CFConfig     `json:"cf"`
	Broker BrokerConfig `json:"broker"`
	upgrade.Policy
}

// UpgradeErrandName is the value of an upgrade-all-instances config's `errand` key
// (config.ErrandOf).
const UpgradeErrandName = "upgrade-all-instances"

// ThroughCloudFoundry tells whether the instances are upgraded through Cloud Foundry.
func (c UpgradeConfig) ThroughCloudFoundry() bool { return c.CF.APIURL != "" }

// LoadUpgradeConfig reads and validates the upgrade-all-instances config file at path; the
// policy's keys it leaves out have upgrade.DefaultPolicy's values.
func LoadUpgradeConfig(path string) (UpgradeConfig, error) {
	c := UpgradeConfig{Policy: upgrade.DefaultPolicy()}
	if err := config.Load(path, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate returns every problem of the config, each naming its field.
func (c UpgradeConfig) Validate() error {
	var errs config.Errors
	config.CheckErrand(&errs, c.Errand, UpgradeErrandName)
	switch {
	case c.ThroughCloudFoundry():
		c.CF.check(&errs)
	case c.CF.Username != "" || c.CF.Password != "" || c.CF.ClientID != "" || c.CF.ClientSecret != "":
		errs.Add("cf.api_url", "is required with cf credentials: set it to upgrade through Cloud Foundry, or leave cf empty to upgrade directly through the broker")
	}
	c.Broker.check(&errs)
	c.Policy.Check(&errs)
	return errs.Err()
}

// Outdated (upgrade.Platform) refreshes Cloud Foundry's catalog of the broker, so that Cloud
// Foundry knows the plans' current maintenance_info, then lists the broker's instances for
// which Cloud Foundry offers an upgrade (upgrade_available), as `cf services` shows them.
func (r *Registrar) Outdated(ctx context.Context) ([]upgrade.Instance, error) {
	name := r.cfg.Broker.Name
	b, err := r.findBroker(ctx)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, &Error{Action: "upgrading the instances of service broker " + name, Err: fmt.Errorf(
			"no service broker %s in the Cloud Foundry at %s: run the broker-registrar errand first, or leave cf.api_url unset to upgrade directly through the broker", name, r.cfg.CF.APIURL)}
	}
	fmt.Fprintf(r.out, "Refreshing Cloud Foundry's catalog of service broker %s as %s...\n", name, r.as)
	if err := r.updateBroker(ctx, b.GUID); err != nil {
		return nil, err
	}
	fmt.Fprintln(r.out, "OK")
	infos, err := r.brokerInstances(ctx, b.GUID)
	if err != nil {
		return nil, err
	}
	var outdated []upgrade.Instance
	for _, i := range infos {
		if i.upgradeAvailable {
			outdated = append(outdated, upgrade.Instance{
				ID: i.guid, Name: fmt.Sprintf("%s in org %s / space %s", i.name, i.org, i.space), Service: i.service, Plan: i.plan,
				ServiceID: i.serviceID, PlanID: i.planID, From: i.version, To: i.planVersion,
			})
		}
	}
	return outdated, nil
}

// Upgrade (upgrade.Platform) asks Cloud Foundry for what `cf upgrade-service` asks — the
// instance at its plan's maintenance_info version — and waits for Cloud Foundry's job, which
// updates the instance at the broker and then records its new version. An instance busy with
// another operation, or a Cloud Foundry that does not answer, is retryable.
func (r *Registrar) Upgrade(ctx context.Context, inst upgrade.Instance) error {
	jobGUID, err := r.patchMaintenanceInfo(ctx, inst.ID, inst.To)
	if err == nil {
		err = r.waitForJob(ctx, jobGUID)
	}
	if err == nil {
		return nil
	}
	err = &Error{Action: "upgrading service instance " + inst.Name, Err: err}
	if ctx.Err() == nil && passing(err) {
		return upgrade.Retryable(err)
	}
	return err
}

// passing tells whether an upgrade failed for a reason that may pass: Cloud Foundry has an
// operation of the instance in progress, the broker is busy with one (its 422
// ConcurrencyError, which Cloud Foundry reports as CF-ServiceBrokerConcurrencyError, on the
// request or in the job), or Cloud Foundry did not answer or failed itself.
func passing(err error) bool {
	var httpErr resource.CloudFoundryHTTPError
	var unreachable *url.Error
	var jobErr *JobFailedError
	return resource.IsAsyncServiceInstanceOperationInProgressError(err) || resource.IsServiceBrokerConcurrencyError(err) ||
		errors.As(err, &jobErr) && slices.ContainsFunc(jobErr.Errors, func(e resource.CloudFoundryError) bool { return resource.IsServiceBrokerConcurrencyError(e) }) ||
		errors.As(err, &httpErr) && httpErr.StatusCode >= http.StatusInternalServerError ||
		errors.As(err, &unreachable)
}

// patchMaintenanceInfo sends PATCH /v3/service_instances/:guid with the maintenance_info
// version alone, as the cf CLI does, and returns the job's GUID ("" when Cloud Foundry had
// nothing to do). Not go-cfclient's UpdateManaged: it always sends "tags" (null unless set),
// which Cloud Controller takes as a change of the developer's tags.
func (r *Registrar) patchMaintenanceInfo(ctx context.Context, guid, version string) (string, error) {
	body, err := json.Marshal(map[string]any{"maintenance_info": map[string]string{"version": version}})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, r.cf.ApiURL("/v3/service_instances/"+url.PathEscape(guid)), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.cf.ExecuteAuthRequest(req) // an error status is Cloud Foundry's error
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return "", nil
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || location.Path == "" {
		return "", fmt.Errorf("the upgrade was accepted without a Cloud Foundry job to follow (Location %q)", resp.Header.Get("Location"))
	}
	return path.Base(location.Path), nil
}
