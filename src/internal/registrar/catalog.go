package registrar

import (
	"context"
	"slices"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// fetchCatalog gets the broker's /v2/catalog as Cloud Controller will, so that a broker the
// platform cannot use fails here with a clear message.
func (r *Registrar) fetchCatalog(ctx context.Context) (osbclient.Catalog, error) {
	cat, err := r.broker.Catalog(ctx)
	if err != nil {
		return osbclient.Catalog{}, &Error{Action: "fetching the broker's catalog from " + r.cfg.Broker.URL + "/v2/catalog", Err: err}
	}
	return cat, nil
}

// allowed tells which plans of the catalog access.services and access.plans allow; with
// both empty, every plan. Names that are not in the catalog are errors: a typo would
// otherwise silently disable a service.
func (a AccessConfig) allowed(cat osbclient.Catalog) (map[string]bool, error) {
	allowed := map[string]bool{} // plan catalog id
	services := map[string]osbclient.Service{}
	for _, svc := range cat.Services {
		services[svc.Name] = svc
	}
	var errs config.Errors
	everything := len(a.Services) == 0 && len(a.Plans) == 0
	for i, name := range a.Services {
		if _, ok := services[name]; !ok {
			errs.Add(config.Index("access.services", i), "%q is not a service of the broker's catalog (%s)", name, serviceNames(cat))
		}
	}
	for i, entry := range a.Plans {
		serviceName, planName, _ := strings.Cut(entry, "/")
		if !hasPlan(services[serviceName], planName) {
			errs.Add(config.Index("access.plans", i), "%q is not a plan of the broker's catalog", entry)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	for _, svc := range cat.Services {
		for _, p := range svc.Plans {
			if everything || slices.Contains(a.Services, svc.Name) || slices.Contains(a.Plans, svc.Name+"/"+p.Name) {
				allowed[p.ID] = true
			}
		}
	}
	return allowed, nil
}

func hasPlan(svc osbclient.Service, name string) bool {
	for _, p := range svc.Plans {
		if p.Name == name {
			return true
		}
	}
	return false
}

func serviceNames(cat osbclient.Catalog) string {
	names := make([]string, len(cat.Services))
	for i, svc := range cat.Services {
		names[i] = svc.Name
	}
	return "it offers " + strings.Join(names, ", ")
}
