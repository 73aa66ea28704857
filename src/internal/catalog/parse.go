package catalog

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Parse parses the services array (JSON) of the broker config. Every problem is reported with its
// full path from `services`, e.g. `services[2].plans[0].container.memory: "1x": unknown unit, use b, k, m or g`,
// all at once (a config.Errors). Keys the schema does not know are not errors (the original files must load
// unchanged, including consul's typo `uri: {uri: consul}`): they come back as warnings with their path.
func Parse(services json.RawMessage) (c *Catalog, warnings []string, err error) {
	p := &parser{reader: &reader{}, ids: map[string]string{}, serviceNames: map[string]string{}}
	c = &Catalog{}
	items := p.itemsAt("services", services)
	for i, item := range items {
		at := config.Index("services", i)
		if isAbsent(item) {
			p.problem(at, "expected an object, found null")
			continue
		}
		if o := p.objectAt(at, item); o != nil {
			c.Services = append(c.Services, p.service(o))
		}
	}
	if len(items) == 0 && len(p.errs) == 0 {
		p.warn("services", "no service: the catalog is empty")
	}
	if err := p.errs.Err(); err != nil {
		return nil, p.warnings, err
	}
	return c, p.warnings, nil
}

// parser holds what spans services: ids and names must be unique across the catalog.
type parser struct {
	*reader
	ids          map[string]string // every service and plan id seen so far → the path of its owner
	serviceNames map[string]string // → the path of the service
}

// claim records in registry that owner (a path) has value, or reports at `at` the earlier
// item that already has it.
func (p *parser) claim(registry map[string]string, at, owner, what, value string) {
	if value == "" {
		return
	}
	if first, taken := registry[value]; taken {
		p.problem(at, "%q is already the %s of %s", value, what, first)
		return
	}
	registry[value] = owner
}

// The values OSB defines for `requires`.
var knownRequirements = []string{"syslog_drain", "route_forwarding", "volume_mount"}

func (p *parser) service(o *object) Service {
	s := Service{
		ID:                  o.requiredStr("id"),
		Name:                o.requiredStr("name"),
		Description:         o.requiredStr("description"),
		Bindable:            o.boolean("bindable", true),
		Tags:                o.strs("tags"),
		Metadata:            o.freeForm("metadata"),
		Requires:            o.strs("requires"),
		PlanUpdateable:      o.boolean("plan_updateable", false),
		AllowContextUpdates: o.boolean("allow_context_updates", false),
	}
	p.claim(p.ids, o.at("id"), o.path, "id", s.ID)
	p.claim(p.serviceNames, o.at("name"), o.path, "name", s.Name)
	p.warnIfNotCLIFriendly(o.at("name"), s.Name)
	for i, requirement := range s.Requires {
		if !slices.Contains(knownRequirements, requirement) {
			p.problem(config.Index(o.at("requires"), i), "%q: unknown, OSB defines %s", requirement, strings.Join(knownRequirements, ", "))
		}
	}
	if client := o.child("dashboard_client"); client != nil {
		s.DashboardClient = parseDashboardClient(client)
	}

	plansRaw, given := o.value("plans")
	plans := o.children("plans")
	if !given || isList(plansRaw) && len(plans) == 0 {
		p.problem(o.at("plans"), "required: a service needs at least one plan")
	}
	serviceBindings := readBindings(o.child("bindings"))
	serviceCheck := readSanityCheck(o.child("sanity_check"))
	serviceBackup := readBackup(o.child("backup"))
	planNames := map[string]string{}
	for _, po := range plans {
		plan := p.plan(po, serviceBindings, serviceCheck, serviceBackup)
		p.claim(planNames, po.at("name"), po.path, "name", plan.Name)
		if plan.SyslogDrainPort != "" && !slices.Contains(s.Requires, "syslog_drain") {
			p.problem(po.at("syslog_drain_port"), "the service must list syslog_drain in requires, or the platform refuses the drain URL")
		}
		if plan.SanityCheck != nil && !plan.IsBindable(s) {
			p.problem(po.path, "has a sanity_check but cannot be bound: the check needs a binding's credentials")
		}
		s.Plans = append(s.Plans, plan)
	}
	o.warnUnknown()
	return s
}

// plan reads one plan; serviceBindings, serviceCheck and serviceBackup are its service's
// `bindings`, `sanity_check` and `backup`, which the plan's own replace.
func (p *parser) plan(o *object, serviceBindings *bindingsSection, serviceCheck *SanityCheck, serviceBackup *Backup) Plan {
	plan := Plan{
		ID:                     o.requiredStr("id"),
		Name:                   o.requiredStr("name"),
		Description:            o.requiredStr("description"),
		Metadata:               o.freeForm("metadata"),
		Free:                   o.boolean("free", true),
		Bindable:               o.optionalBool("bindable"),
		PlanUpdateable:         o.optionalBool("plan_updateable"),
		MaxContainers:          o.count("max_containers"),
		SyslogDrainPort:        o.port("syslog_drain_port"),
		SyslogDrainProtocol:    o.str("syslog_drain_protocol"),
		MaximumPollingDuration: o.count("maximum_polling_duration"),
		MaintenanceInfo:        parseMaintenanceInfo(o.child("maintenance_info")),
		HealthCheck:            parseHealthCheck(o.child("health_check")),
	}
	p.claim(p.ids, o.at("id"), o.path, "id", plan.ID)
	p.warnIfNotCLIFriendly(o.at("name"), plan.Name)
	switch plan.SyslogDrainProtocol {
	case "":
		plan.SyslogDrainProtocol = "syslog"
	case "syslog", "syslog-tls", "https":
	default:
		p.problem(o.at("syslog_drain_protocol"), "%q: use syslog, syslog-tls or https", plan.SyslogDrainProtocol)
	}

	// The credentials come first: the container's files may use them.
	if credentials := o.child("credentials"); credentials != nil {
		plan.Credentials = parseCredentials(credentials)
	}
	container := o.child("container")
	if container == nil {
		if _, given := o.value("container"); !given {
			p.problem(o.at("container"), "required")
		}
	} else {
		plan.Container = parseContainer(container, plan.Credentials)
	}
	bindings := serviceBindings
	if own := readBindings(o.child("bindings")); own != nil {
		bindings = own
	}
	if bindings != nil {
		plan.Bindings = bindings.forPlan(p.reader, o.path, plan.Credentials)
	}
	check := serviceCheck
	if own := readSanityCheck(o.child("sanity_check")); own != nil {
		check = own
	}
	plan.SanityCheck = sanityCheckFor(check, plan.Container)
	plan.Backup = serviceBackup
	if own := readBackup(o.child("backup")); own != nil {
		plan.Backup = own
	}
	p.checkPorts(o, plan)
	p.checkEnvironment(o, plan)
	if raw, ok := o.value("schemas"); ok {
		plan.Schemas = raw
		readSchemas(p.reader, o.at("schemas"), raw, reservedEnvNames(plan.Credentials))
	}
	o.warnUnknown()
	return plan
}

// checkPorts reports the ports the broker would look for that the container does not publish.
func (p *parser) checkPorts(o *object, plan Plan) {
	if uri := plan.Credentials.URI; uri != nil {
		plan.Container.requireExposed(p.reader, o.at("credentials.uri.port"), "uri.port", uri.Port)
	}
	plan.Container.requireExposed(p.reader, o.at("syslog_drain_port"), "syslog_drain_port", plan.SyslogDrainPort)
	plan.Container.requireExposed(p.reader, o.at("health_check.tcp_port"), "health_check.tcp_port", plan.HealthCheck.TCPPort)
}

// checkEnvironment reports an environment entry that a credential would set too: which one
// wins would depend on the order the broker happens to pass them.
func (p *parser) checkEnvironment(o *object, plan Plan) {
	credentialKeys := plan.Credentials.envKeys()
	for i, entry := range plan.Container.Environment {
		key := environmentKey(entry)
		if field, taken := credentialKeys[key]; taken {
			p.problem(config.Index(o.at("container.environment"), i), "%s is the key of %s; set the credential's value instead", key, field)
		}
	}
}

// parseDashboardClient reads the Cloud Foundry SSO client; nil when it is empty.
func parseDashboardClient(o *object) *DashboardClient {
	d := DashboardClient{ID: o.str("id"), Secret: o.str("secret"), RedirectURI: o.str("redirect_uri")}
	defer o.warnUnknown()
	switch {
	case d == DashboardClient{}:
		return nil
	case d.ID == "" || d.Secret == "":
		o.r.problem(o.path, "needs both id and secret")
	case d.RedirectURI == "":
		o.r.warn(o.path, "no redirect_uri, so the catalog leaves the dashboard client out: Cloud Foundry refuses one without it")
	default:
		if u, err := url.Parse(d.RedirectURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			o.r.problem(o.at("redirect_uri"), "%q: not an http(s) URL", d.RedirectURI)
		}
	}
	return &d
}
