package broker

import (
	"context"
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
	return filepath.Join(b.instanceDir(instanceID), secretRel(field))
}

// secretRel is secretFile relative to the instance's directory.
func secretRel(field string) string { return filepath.Join("secrets", field) }

// writeSecretFiles writes the instance's credentials that the plan passes as files, readable by
// their owner only, and returns their paths relative to the instance's directory: the container
// then reads its secrets from a file, and `docker inspect` shows a path instead of the secret.
// They are written on every (re)creation, all in one go.
func (b *Broker) writeSecretFiles(ctx context.Context, inst store.Instance, plan catalog.Plan) ([]string, error) {
	var rels []string
	secrets := map[string][]byte{}
	for _, f := range credentialValues(plan, inst) {
		if !f.field.AsFile {
			continue
		}
		rel := secretRel(f.name)
		secrets[rel] = []byte(f.value)
		rels = append(rels, rel)
	}
	if len(secrets) == 0 {
		return nil, nil
	}
	if err := b.disk.WriteSecrets(ctx, inst.ID, secrets); err != nil {
		return nil, volumeError(err)
	}
	return rels, nil
}
