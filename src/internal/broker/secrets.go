package broker

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// credentialValue is one of the plan's credential fields with the instance's value.
type credentialValue struct {
	name  string // "password"
	field *catalog.CredentialField
	value string
}

// credentialValues lists the credential fields the plan gives its instances' containers.
func credentialValues(plan catalog.Plan, inst store.Instance) []credentialValue {
	var values []credentialValue
	for _, f := range []credentialValue{
		{"username", plan.Credentials.Username, inst.Credentials.Username},
		{"password", plan.Credentials.Password, inst.Credentials.Password},
		{"dbname", plan.Credentials.DBName, inst.Credentials.DBName},
	} {
		if f.field != nil {
			values = append(values, f)
		}
	}
	return values
}

// secretFile is the host file of an instance's credential passed as a file (as_file). It is
// kept beside the volumes, not in one, so that the service cannot change it.
func (b *Broker) secretFile(instanceID, field string) string {
	return filepath.Join(b.instanceDir(instanceID), "secrets", field)
}

// writeSecretFiles writes the instance's credentials that the plan passes as files, readable by
// their owner only, and returns their paths: the container then reads its secrets from a file,
// and `docker inspect` shows a path instead of the secret. They are written on every (re)creation.
func (b *Broker) writeSecretFiles(inst store.Instance, plan catalog.Plan) ([]string, error) {
	var paths []string
	for _, f := range credentialValues(plan, inst) {
		if !f.field.AsFile {
			continue
		}
		path := b.secretFile(inst.ID, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, volumeError(fmt.Errorf("creating the directory of the secret files: %w", err))
		}
		if err := os.WriteFile(path, []byte(f.value), 0o600); err != nil {
			return nil, volumeError(fmt.Errorf("writing the secret file %s: %w", f.name, err))
		}
		paths = append(paths, path)
	}
	return paths, nil
}
