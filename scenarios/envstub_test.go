package scenarios

import (
	"errors"
	"fmt"
	"regexp"
)

// The environment blocks the table tests use. They mirror the etcd and AWS backends' blocks
// (which this package cannot import), so the golden files also exercise the block decoder:
// positions, partial validation and `lab:` meaning "on, with defaults". cmd/drill runs the same
// golden files through the real blocks.

type etcdEnvStub struct {
	Lab       *etcdLabStub `yaml:"lab"`
	Endpoints []string     `yaml:"endpoints"`
}

type etcdLabStub struct {
	Members       int      `yaml:"members"`
	SnapshotEvery Duration `yaml:"snapshotEvery"`
	SnapshotKeep  int      `yaml:"snapshotKeep"`
}

func (l *etcdLabStub) SetDefaults() { l.Members = 3 }

func (e *etcdEnvStub) Validate() error {
	var errs []error
	if e.Lab != nil {
		if e.Lab.Members < 1 || e.Lab.Members > 9 {
			errs = append(errs, ValueErrorf("lab.members", "must be between 1 and 9, got %d", e.Lab.Members))
		}
		if e.Lab.SnapshotKeep < 0 {
			errs = append(errs, ValueErrorf("lab.snapshotKeep", "must not be negative, got %d", e.Lab.SnapshotKeep))
		}
	}
	switch {
	case e.Lab != nil && e.Endpoints != nil:
		errs = append(errs, FieldErrorf("endpoints", "set either lab (start a local cluster) or endpoints (use an existing one), not both"))
	case e.Lab == nil && e.Endpoints == nil:
		errs = append(errs, FieldErrorf("", "set lab (start a local cluster) or endpoints (use an existing one)"))
	}
	for i, ep := range e.Endpoints {
		if msg := CheckURL(ep); msg != "" {
			errs = append(errs, ValueErrorf(fmt.Sprintf("endpoints[%d]", i), "%s", msg))
		}
	}
	return errors.Join(errs...)
}

type awsEnvStub struct {
	Region        string   `yaml:"region"`
	Endpoint      string   `yaml:"endpoint"`
	AllowAccounts []string `yaml:"allowAccounts"`
}

func (e *awsEnvStub) Validate() error {
	var errs []error
	if msg := CheckURL(e.Endpoint); e.Endpoint != "" && msg != "" {
		errs = append(errs, ValueErrorf("endpoint", "%s", msg))
	}
	for i, id := range e.AllowAccounts {
		if !regexp.MustCompile(`^[0-9]{12}$`).MatchString(id) {
			errs = append(errs, ValueErrorf(fmt.Sprintf("allowAccounts[%d]", i), "want a 12-digit AWS account ID, got %q", id))
		}
	}
	return errors.Join(errs...)
}
