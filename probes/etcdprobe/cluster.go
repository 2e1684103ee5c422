package etcdprobe

import (
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// memberClient finds the cluster the etcd connector set up, resolves the listed members (all of
// them when none are listed) to client endpoints, and returns the shared client.
func memberClient(env *runner.Env, members []string) (*clientv3.Client, []string, error) {
	cl, err := etcdlab.ClusterFrom(env)
	if err != nil {
		return nil, nil, err
	}
	eps, err := cl.ResolveMembers(members)
	if err != nil {
		return nil, nil, scenarios.FieldErrorf("members", "%v", err)
	}
	client, err := cl.Client()
	if err != nil {
		return nil, nil, err
	}
	return client, eps, nil
}
