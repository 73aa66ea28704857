package boshrelease

import (
	"encoding/json"
	"errors"
	"os"
)

// servicesSkeleton is the part of the deployment manifest that services ops files patch: the
// broker's services, the docker job's host settings some engines need, the variables.
const servicesSkeleton = `instance_groups:
- name: docker
  jobs:
  - name: docker
    properties: {}
  - name: docker-broker
    properties:
      services: []
variables: []
`

// ServicesOf is the broker's `services` property (JSON) made of services ops files
// (services/op-*.yml) interpolated as `bosh deploy -o` applies them, their variables generated:
// how tests and tools get the offerings as they ship.
func ServicesOf(opsFiles []string) (json.RawMessage, error) {
	manifest, err := os.CreateTemp("", "services-manifest-*.yml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(manifest.Name())
	_, err = manifest.WriteString(servicesSkeleton)
	if err = errors.Join(err, manifest.Close()); err != nil {
		return nil, err
	}
	m, err := Interpolation{ManifestPath: manifest.Name(), OpsFiles: opsFiles, VarsStore: NewVarsStore()}.Manifest()
	if err != nil {
		return nil, err
	}
	ig, _ := m.InstanceGroup("docker")
	broker, _ := ig.Job("docker-broker")
	return json.Marshal(broker.Properties["services"])
}
