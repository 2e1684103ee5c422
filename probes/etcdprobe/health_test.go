package etcdprobe

import (
	"errors"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/drillhq/drill/etcdlab"
)

// st builds one Status answer: member id reports leader; alarms optional.
func st(ep string, id, leader uint64, alarms ...string) etcdlab.EndpointStatus {
	return etcdlab.EndpointStatus{Endpoint: ep, Resp: &clientv3.StatusResponse{
		Header: &etcdserverpb.ResponseHeader{MemberId: id},
		Leader: leader,
		Errors: alarms,
	}}
}

func down(ep string) etcdlab.EndpointStatus {
	return etcdlab.EndpointStatus{Endpoint: ep, Err: errors.New("context deadline exceeded")}
}

func TestJudgeHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		done        []etcdlab.EndpointStatus
		total, need int
		wantErr     string // "" = healthy
		wantFinal   bool
	}{
		{"all agree, leader answered", []etcdlab.EndpointStatus{st("a", 1, 1), st("b", 2, 1), st("c", 3, 1)}, 3, 3, "", true},
		{"all mode: one down", []etcdlab.EndpointStatus{st("a", 1, 1), down("b")}, 3, 3, "2 of 3 members answered, need 3", true},
		{"all mode: waiting for the rest", []etcdlab.EndpointStatus{st("a", 1, 1), st("b", 2, 1)}, 3, 3, "", false},
		{"quorum decided before the dead member times out", []etcdlab.EndpointStatus{st("a", 1, 1), st("b", 2, 1)}, 3, 2, "", true},
		{"quorum: survivors still name the dead leader", []etcdlab.EndpointStatus{st("b", 2, 1), st("c", 3, 1), down("a")}, 3, 2, "leader 1 did not answer", true},
		{"quorum: majority without the leader's own answer waits", []etcdlab.EndpointStatus{st("b", 2, 1), st("c", 3, 1)}, 3, 2, "", false},
		{"quorum: two down", []etcdlab.EndpointStatus{down("a"), down("b")}, 3, 2, "1 of 3 members answered, need 2", true},
		{"quorum: a stale minority does not matter", []etcdlab.EndpointStatus{st("c", 3, 9), st("a", 1, 1), st("b", 2, 1)}, 3, 2, "", true},
		{"no leader anywhere", []etcdlab.EndpointStatus{st("a", 1, 0), st("b", 2, 0), st("c", 3, 0)}, 3, 2, "no leader", true},
		{"disagreement", []etcdlab.EndpointStatus{st("a", 1, 1), st("b", 2, 2), st("c", 3, 3)}, 3, 3, "members disagree on the leader", true},
		{"one without a leader", []etcdlab.EndpointStatus{st("a", 1, 1), st("b", 2, 1), st("c", 3, 0)}, 3, 3, "c has no leader", true},
		{"alarm", []etcdlab.EndpointStatus{st("a", 1, 1, "NOSPACE")}, 3, 3, "a reports NOSPACE", true},
		{"listed subset without the leader", []etcdlab.EndpointStatus{st("b", 2, 1), st("c", 3, 1)}, 2, 2, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err, final := judgeHealth(tt.done, tt.total, tt.need)
			if final != tt.wantFinal {
				t.Errorf("final = %v, want %v (err %v)", final, tt.wantFinal, err)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want healthy", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCompareHashes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		hashes  []memberHash
		wantErr string
	}{
		{"equal", []memberHash{{endpoint: "a", hash: 7, compactRev: 2}, {endpoint: "b", hash: 7, compactRev: 2}}, ""},
		{"hash differs", []memberHash{{endpoint: "a", hash: 7}, {endpoint: "b", hash: 8}}, "members differ at revision 5: a=00000007"},
		{"compaction differs", []memberHash{{endpoint: "a", hash: 7, compactRev: 1}, {endpoint: "b", hash: 7, compactRev: 3}}, "compacted at 3"},
		{"member error", []memberHash{{endpoint: "a", hash: 7}, {endpoint: "b", err: errors.New("boom")}}, "hashkv b at revision 5: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := compareHashes(5, tt.hashes)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
