package registrar

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudfoundry/go-cfclient/v3/client"
	"github.com/cloudfoundry/go-cfclient/v3/resource"
)

// Register creates the broker, or updates its URL and credentials (which makes Cloud
// Foundry fetch its catalog again), waits for Cloud Foundry's job, then makes access to the
// broker's plans what Config.Access says.
func (r *Registrar) Register(ctx context.Context) error {
	cat, err := r.fetchCatalog(ctx)
	if err != nil {
		return err
	}
	allowed, err := r.cfg.Access.allowed(cat)
	if err != nil {
		return err
	}
	orgs, err := r.lookupOrgs(ctx)
	if err != nil {
		return err
	}
	spaceGUID, err := r.lookupSpace(ctx)
	if err != nil {
		return err
	}

	name := r.cfg.Broker.Name
	existing, err := r.findBroker(ctx)
	if err != nil {
		return err
	}
	if existing == nil {
		fmt.Fprintf(r.out, "Service broker '%s' does not exist - creating broker\n", name)
		fmt.Fprintf(r.out, "Creating service broker %s as %s...\n", name, r.as)
		create := resource.NewServiceBrokerCreate(name, r.cfg.Broker.URL, r.cfg.Broker.Username, r.cfg.Broker.Password)
		if spaceGUID != "" {
			create.WithSpace(spaceGUID)
		}
		jobGUID, err := r.cf.ServiceBrokers.Create(ctx, create)
		if err == nil {
			err = r.waitForJob(ctx, jobGUID)
		}
		if err != nil {
			return &Error{Action: "creating service broker " + name, Err: err}
		}
	} else {
		if scope := brokerSpace(existing); scope != spaceGUID {
			return &Error{Action: "updating service broker " + name, Err: fmt.Errorf(
				"it is registered %s, the config asks for %s; Cloud Foundry cannot change a broker's scope: deregister it first",
				describeScope(scope), describeScope(spaceGUID))}
		}
		fmt.Fprintf(r.out, "Service broker '%s' already exists - updating broker\n", name)
		fmt.Fprintf(r.out, "Updating service broker %s as %s...\n", name, r.as)
		if err := r.updateBroker(ctx, existing.GUID); err != nil {
			return err
		}
	}
	fmt.Fprintln(r.out, "OK")

	b, err := r.findBroker(ctx)
	if err != nil {
		return err
	}
	if b == nil {
		return &Error{Action: "registering service broker " + name, Err: errors.New("the job completed but Cloud Foundry does not list the broker")}
	}
	if spaceGUID != "" {
		fmt.Fprintf(r.out, "Service broker %s is space-scoped: its plans are visible in org %s / space %s only\n", name, r.cfg.SpaceScoped.Org, r.cfg.SpaceScoped.Space)
		return nil
	}
	return r.applyAccess(ctx, b.GUID, cat, allowed, orgs)
}

// updateBroker sets the registered broker's URL and credentials to the config's, which makes
// Cloud Foundry fetch its catalog again, and waits for that.
func (r *Registrar) updateBroker(ctx context.Context, guid string) error {
	update := resource.NewServiceBrokerUpdate().WithURL(r.cfg.Broker.URL).WithCredentials(r.cfg.Broker.Username, r.cfg.Broker.Password)
	jobGUID, _, err := r.cf.ServiceBrokers.Update(ctx, guid, update)
	if err == nil {
		err = r.waitForJob(ctx, jobGUID)
	}
	if err != nil {
		return &Error{Action: "updating service broker " + r.cfg.Broker.Name, Err: err}
	}
	return nil
}

func brokerSpace(b *resource.ServiceBroker) string {
	if b.Relationships.Space.Data == nil {
		return ""
	}
	return b.Relationships.Space.Data.GUID
}

func describeScope(spaceGUID string) string {
	if spaceGUID == "" {
		return "for all orgs"
	}
	return "space-scoped (space " + spaceGUID + ")"
}

// org is a Cloud Foundry org the config names.
type org struct{ name, guid string }

// lookupOrgs finds the orgs of access.orgs, in the config's order.
func (r *Registrar) lookupOrgs(ctx context.Context) ([]org, error) {
	var orgs []org
	for _, name := range r.cfg.Access.Orgs {
		guid, err := r.orgGUID(ctx, name)
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, org{name: name, guid: guid})
	}
	return orgs, nil
}

func (r *Registrar) orgGUID(ctx context.Context, name string) (string, error) {
	opts := client.NewOrganizationListOptions()
	opts.Names.EqualTo(name)
	found, err := r.cf.Organizations.ListAll(ctx, opts)
	if err != nil {
		return "", &Error{Action: "looking up org " + name, Err: err}
	}
	if len(found) == 0 {
		return "", &Error{Action: "looking up org " + name, Err: fmt.Errorf("no org named %q in Cloud Foundry", name)}
	}
	return found[0].GUID, nil
}

// lookupSpace finds the space of a space-scoped broker ("" when there is none).
func (r *Registrar) lookupSpace(ctx context.Context) (string, error) {
	scope := r.cfg.SpaceScoped
	if scope.Org == "" {
		return "", nil
	}
	orgGUID, err := r.orgGUID(ctx, scope.Org)
	if err != nil {
		return "", err
	}
	opts := client.NewSpaceListOptions()
	opts.Names.EqualTo(scope.Space)
	opts.OrganizationGUIDs.EqualTo(orgGUID)
	found, err := r.cf.Spaces.ListAll(ctx, opts)
	if err != nil {
		return "", &Error{Action: "looking up space " + scope.Space, Err: err}
	}
	if len(found) == 0 {
		return "", &Error{Action: "looking up space " + scope.Space, Err: fmt.Errorf("org %q has no space named %q", scope.Org, scope.Space)}
	}
	return found[0].GUID, nil
}
