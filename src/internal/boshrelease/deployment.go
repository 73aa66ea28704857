package boshrelease

import (
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Instance is one instance of an instance group, as a director describes it to templates
// (spec.*) and to link consumers.
type Instance struct {
	Deployment string
	Group      string
	Index      int
	ID         string
	AZ         string
	Address    string // spec.address
	IP         string
	Network    string
	Bootstrap  bool
}

// Link is what a consumer sees of a link: the providing instances and the properties the
// provider's spec lists for it, with the provider's values (spec defaults applied).
type Link struct {
	Instances      []LinkInstance `json:"instances"`
	Properties     map[string]any `json:"properties"`
	InstanceGroup  string         `json:"instance_group"`
	DefaultNetwork string         `json:"default_network"`
	DeploymentName string         `json:"deployment_name"`
	Address        string         `json:"address"` // the group's BOSH DNS query address
}

// LinkInstance is one providing instance of a link.
type LinkInstance struct {
	Name      string `json:"name"`
	Index     int    `json:"index"`
	ID        string `json:"id"`
	AZ        string `json:"az"`
	Address   string `json:"address"`
	Bootstrap bool   `json:"bootstrap"`
}

// Deployment is an interpolated manifest placed on instances the way a director places it,
// for the jobs of one release: it gives every instance an id, an AZ and an address, merges
// properties, resolves links between the release's jobs, and renders an instance's jobs.
type Deployment struct {
	Manifest Manifest
	Release  string         // the release's name in the manifest: jobs of other releases are neither rendered nor linked
	Jobs     map[string]Job // the release's jobs by name
	// Address gives an instance its address. Nil takes the group's static IPs, and otherwise
	// 10.244.<group number>.<index+2> (bosh-lite's range).
	Address func(group string, index int) string
}

// Instances lists the instances of an instance group.
func (d Deployment) Instances(group string) ([]Instance, error) {
	for g, ig := range d.Manifest.InstanceGroups {
		if ig.Name != group {
			continue
		}
		if len(ig.Networks) == 0 {
			return nil, fmt.Errorf("instance group %s has no network", group)
		}
		network := ig.Networks[0]
		instances := make([]Instance, ig.Instances)
		for i := range instances {
			address := ""
			switch {
			case d.Address != nil:
				address = d.Address(group, i)
			case i < len(network.StaticIPs):
				address = network.StaticIPs[i]
			default:
				address = fmt.Sprintf("10.244.%d.%d", g+1, i+2)
			}
			az := ""
			if len(ig.AZs) > 0 {
				az = ig.AZs[i%len(ig.AZs)]
			}
			sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", d.Manifest.Name, group, i))
			instances[i] = Instance{
				Deployment: d.Manifest.Name,
				Group:      group,
				Index:      i,
				ID:         fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
				AZ:         az,
				Address:    address,
				IP:         address,
				Network:    network.Name,
				Bootstrap:  i == 0,
			}
		}
		return instances, nil
	}
	return nil, fmt.Errorf("the manifest has no instance group %s", group)
}

// properties are a job's properties as the manifest sets them: the job's own, or, when it has
// none, the instance group's over the global ones (the director's order).
func (d Deployment) properties(ig InstanceGroup, mj ManifestJob) map[string]any {
	if mj.Properties != nil {
		return mj.Properties
	}
	merged := map[string]any{}
	for k, v := range d.Manifest.Properties {
		merged[k] = v
	}
	for k, v := range ig.Properties {
		merged[k] = v
	}
	return merged
}

// blocked tells whether a consumes/provides entry switches the link off ("nil" or null).
func blocked(entry any, present bool) bool {
	return present && (entry == nil || entry == "nil")
}

// provider is a link offered by a job of the deployment.
type provider struct {
	name, typ string
	group     InstanceGroup
	job       ManifestJob
	spec      LinkProvider
}

func (d Deployment) providers() []provider {
	var out []provider
	for _, ig := range d.Manifest.InstanceGroups {
		for _, mj := range ig.Jobs {
			job, ok := d.Jobs[mj.Name]
			if mj.Release != d.Release || !ok {
				continue
			}
			for _, p := range job.Spec.Provides {
				entry, present := mj.Provides[p.Name]
				if blocked(entry, present) {
					continue
				}
				name := p.Name
				if m, ok := entry.(map[string]any); ok {
					if as, ok := m["as"].(string); ok && as != "" {
						name = as
					}
				}
				out = append(out, provider{name: name, typ: p.Type, group: ig, job: mj, spec: p})
			}
		}
	}
	return out
}

// Links resolves the links a job of an instance group consumes, as a director does: an explicit
// `from` names the provider, otherwise the one provider of the consumer's type; an optional link
// without a provider is left out.
func (d Deployment) Links(group string, mj ManifestJob) (map[string]Link, error) {
	job, ok := d.Jobs[mj.Name]
	if !ok {
		return nil, fmt.Errorf("release %s has no job %s", d.Release, mj.Name)
	}
	links := map[string]Link{}
	for _, c := range job.Spec.Consumes {
		entry, present := mj.Consumes[c.Name]
		if blocked(entry, present) {
			continue
		}
		from := ""
		if m, ok := entry.(map[string]any); ok {
			if dep, ok := m["deployment"].(string); ok && dep != d.Manifest.Name {
				return nil, fmt.Errorf("%s/%s consumes %s from deployment %s, which this rehearsal cannot see", group, mj.Name, c.Name, dep)
			}
			from, _ = m["from"].(string)
		}
		var matches []provider
		for _, p := range d.providers() {
			if p.typ == c.Type && (from == "" || p.name == from) {
				matches = append(matches, p)
			}
		}
		switch {
		case len(matches) == 1:
			link, err := d.link(matches[0])
			if err != nil {
				return nil, err
			}
			links[c.Name] = link
		case len(matches) == 0 && c.Optional:
		case len(matches) == 0:
			return nil, fmt.Errorf("%s/%s consumes link %s (type %s%s) but no job of the deployment provides it", group, mj.Name, c.Name, c.Type, fromHint(from))
		default:
			return nil, fmt.Errorf("%s/%s consumes link %s (type %s): %d jobs provide it; name one with `consumes: {%s: {from: ...}}`", group, mj.Name, c.Name, c.Type, len(matches), c.Name)
		}
	}
	return links, nil
}

func fromHint(from string) string {
	if from == "" {
		return ""
	}
	return ", from " + from
}

func (d Deployment) link(p provider) (Link, error) {
	instances, err := d.Instances(p.group.Name)
	if err != nil {
		return Link{}, err
	}
	resolved := d.Jobs[p.job.Name].Spec.Resolve(d.properties(p.group, p.job))
	props := map[string]any{}
	for _, name := range p.spec.Properties {
		if v, ok := lookup(resolved, name); ok {
			set(props, name, v)
		}
	}
	link := Link{Properties: props, InstanceGroup: p.group.Name, DeploymentName: d.Manifest.Name}
	if len(instances) > 0 {
		link.DefaultNetwork = instances[0].Network
		link.Address = fmt.Sprintf("q-s0.%s.%s.%s.bosh", p.group.Name, link.DefaultNetwork, d.Manifest.Name)
	}
	for _, in := range instances {
		link.Instances = append(link.Instances, LinkInstance{Name: in.Group, Index: in.Index, ID: in.ID, AZ: in.AZ, Address: in.Address, Bootstrap: in.Bootstrap})
	}
	return link, nil
}

// Render renders the jobs of this release on one instance of an instance group into
// dst/<job>/ (a VM's /var/vcap/jobs) and returns the names of the rendered jobs in the
// manifest's order.
func (d Deployment) Render(r *Renderer, group string, index int, dst string) ([]string, error) {
	ig, ok := d.Manifest.InstanceGroup(group)
	if !ok {
		return nil, fmt.Errorf("the manifest has no instance group %s", group)
	}
	instances, err := d.Instances(group)
	if err != nil {
		return nil, err
	}
	if index >= len(instances) {
		return nil, fmt.Errorf("instance group %s has %d instances, not %d", group, len(instances), index+1)
	}
	var rendered []string
	for _, mj := range ig.Jobs {
		if mj.Release != d.Release {
			continue
		}
		job, ok := d.Jobs[mj.Name]
		if !ok {
			return nil, fmt.Errorf("instance group %s: release %s has no job %s (jobs: %s)", group, d.Release, mj.Name, strings.Join(d.jobNames(), ", "))
		}
		links, err := d.Links(group, mj)
		if err != nil {
			return nil, err
		}
		tc := TemplateContext{Instance: instances[index], Properties: d.properties(ig, mj), Links: links}
		if err := r.RenderJob(job, tc, filepath.Join(dst, mj.Name)); err != nil {
			return nil, fmt.Errorf("%s/%d: %w", group, index, err)
		}
		rendered = append(rendered, mj.Name)
	}
	return rendered, nil
}

func (d Deployment) jobNames() []string {
	names := make([]string, 0, len(d.Jobs))
	for name := range d.Jobs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
