package awsfault

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/drillhq/drill/backends/awsenv"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// rdsClusterFake serves DescribeDBClusters and FailoverDBCluster of the RDS query API for one
// cluster on loopback: the host's emulator does not serve RDS. A failover is instant.
type rdsClusterFake struct {
	mu        sync.Mutex
	cluster   string
	members   []string
	writer    string
	refuse    bool // refuse failovers, as the killed drill's revert never reaches AWS
	failovers []string
}

func (f *rdsClusterFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	action := r.PostForm.Get("Action")
	if id := r.PostForm.Get("DBClusterIdentifier"); id != f.cluster {
		rdsError(w, "DBClusterNotFoundFault", "no cluster "+id)
		return
	}
	switch action {
	case "DescribeDBClusters":
		fmt.Fprintf(w, `<DescribeDBClustersResponse><DescribeDBClustersResult><DBClusters>%s</DBClusters></DescribeDBClustersResult></DescribeDBClustersResponse>`, f.clusterXML())
	case "FailoverDBCluster":
		if f.refuse {
			rdsError(w, "InvalidDBClusterStateFault", "refused by the test")
			return
		}
		target := r.PostForm.Get("TargetDBInstanceIdentifier")
		if target == "" {
			for _, m := range f.members {
				if m != f.writer {
					target = m
					break
				}
			}
		}
		f.failovers = append(f.failovers, target)
		f.writer = target
		fmt.Fprintf(w, `<FailoverDBClusterResponse><FailoverDBClusterResult>%s</FailoverDBClusterResult></FailoverDBClusterResponse>`, f.clusterXML())
	default:
		rdsError(w, "InvalidAction", "not faked: "+action)
	}
}

func (f *rdsClusterFake) clusterXML() string {
	s := "<DBCluster><DBClusterIdentifier>" + f.cluster + "</DBClusterIdentifier><DBClusterMembers>"
	for _, m := range f.members {
		s += fmt.Sprintf("<DBClusterMember><DBInstanceIdentifier>%s</DBInstanceIdentifier><IsClusterWriter>%v</IsClusterWriter></DBClusterMember>", m, m == f.writer)
	}
	return s + "</DBClusterMembers></DBCluster>"
}

func rdsError(w http.ResponseWriter, code, msg string) {
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, msg)
}

func (f *rdsClusterFake) state() (string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writer, append([]string(nil), f.failovers...)
}

// aws:rds:failover-db-cluster with failBack journals the writer before failing over; after a
// drill whose fail-back never reached AWS, Recover from the record alone makes that writer the
// writer again, and a second Recover makes no call.
func TestRecoverFailoverDBCluster(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL", "")
	fake := &rdsClusterFake{cluster: "orders", members: []string{"orders-1", "orders-2"}, writer: "orders-1"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	clients, err := awsenv.RecoverClients(t.Context(), awsenv.Where{Region: "us-east-1", Endpoint: srv.URL, Emulator: true}, awsenv.RecoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The real type (its Recover) with New swapped to use clients for the fake (the connector only
	// serves the emulator); the revert is refused once the failover went through, as if drill had
	// been killed.
	typ := FailoverDBClusterType()
	typ.New = func(cfg any, env *runner.Env) (runner.Fault, error) {
		return &refuseAfterInject{failoverDBClusterFault{cfg: *cfg.(*FailoverDBClusterConfig), clients: clients, env: env}, fake}, nil
	}
	env := runner.NewEnv(&scenarios.Scenario{Name: "recover-failover"}, nil)
	f := injectAndLeave(t, env, typ, &FailoverDBClusterConfig{Cluster: "orders", FailBack: true})
	var rec failoverDBClusterRecord
	if err := json.Unmarshal(f.Record, &rec); err != nil {
		t.Fatalf("record %s: %v", f.Record, err)
	}
	if rec.Cluster != "orders" || rec.Writer != "orders-1" || rec.Endpoint != srv.URL || rec.Region != "us-east-1" {
		t.Fatalf("record %+v, want cluster orders, writer orders-1, the fake's endpoint", rec)
	}
	if writer, _ := fake.state(); writer != "orders-2" {
		t.Fatalf("writer %s after the drill, want orders-2: nothing to recover", writer)
	}
	fake.mu.Lock()
	fake.refuse = false
	fake.mu.Unlock()
	recoverTwice(t, typ, f.Record, func(round int) {
		writer, failovers := fake.state()
		if writer != "orders-1" || len(failovers) != 2 {
			t.Errorf("after recover #%d: writer %s, failovers %v; want orders-1 after [orders-2 orders-1]", round, writer, failovers)
		}
	})
}

// refuseAfterInject makes the fake refuse failovers once the fault's own went through.
type refuseAfterInject struct {
	failoverDBClusterFault
	fake *rdsClusterFake
}

func (r *refuseAfterInject) Inject(ctx context.Context) (runner.Injection, error) {
	inj, err := r.failoverDBClusterFault.Inject(ctx)
	r.fake.mu.Lock()
	r.fake.refuse = true
	r.fake.mu.Unlock()
	return inj, err
}

// Without failBack the drill does not fail back, and neither does Recover.
func TestRecoverFailoverDBClusterWithoutFailBackIsNoop(t *testing.T) {
	rec := []byte(`{"region":"us-east-1","endpoint":"http://127.0.0.1:1","emulator":true,"cluster":"orders"}`)
	if err := FailoverDBClusterType().Recover(t.Context(), runner.NewEnv(nil, nil), rec); err != nil {
		t.Fatal(err)
	}
}
