package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/journal"
	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/pglab/pglabtest"
)

// labBackend is what differs between the etcd and the PostgreSQL lab in
// TestBinarySIGKILLBeforeFirstFaultThenRecover.
type labBackend struct {
	name      string
	env       string // the scenario's environment block
	fault     string // a fault of the backend's own types
	glob      string // the connector's lab dir in TMPDIR
	stateFile string
	started   string // the connector's log line once the lab is up
	resource  string // its journal type
	// setup returns the TMPDIR the connector makes its lab in, and environment for drill; with
	// starting set, the lab must never finish starting.
	setup func(t *testing.T, starting bool) (tmpdir string, env []string)
	left  func(dir string) []string // processes still running from the lab dir
}

func etcdBackend() labBackend {
	return labBackend{
		name: "etcd", env: "etcd: { lab: { members: 3 } }",
		fault: "{ name: kill, type: etcd-kill-member, with: { member: follower, signal: SIGKILL } }",
		glob:  "drill-lab-*", stateFile: etcdlab.StateFile, started: "etcd lab started", resource: "etcd-lab",
		setup: func(t *testing.T, starting bool) (string, []string) {
			bin, err := etcdlab.FindEtcd("")
			if errors.Is(err, etcdlab.ErrNoBinary) {
				t.Skip("no etcd binary (make etcd)")
			}
			if err != nil {
				t.Fatal(err)
			}
			if starting {
				// Members that block (opening a FIFO nobody writes: no child process to leak)
				// before they exec etcd: the kill always lands while the lab is starting.
				dir := t.TempDir()
				fifo := filepath.Join(dir, "never")
				if err := syscall.Mkfifo(fifo, 0o600); err != nil {
					t.Fatal(err)
				}
				real := bin
				bin = filepath.Join(dir, "etcd")
				if err := os.WriteFile(bin, []byte("#!/bin/sh\nread x < "+fifo+"\nexec "+real+" \"$@\"\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			return t.TempDir(), []string{etcdlab.EnvEtcdBinary + "=" + bin}
		},
		left: etcdlab.MembersUnder,
	}
}

func postgresBackend() labBackend {
	return labBackend{
		name: "postgres", env: "postgres: { lab: { standbys: 1 } }",
		fault: "{ name: kill, type: postgres-kill-primary }",
		glob:  "drill-pglab-*", stateFile: pglab.StateFile, started: "postgres lab started", resource: "postgres-lab",
		setup: func(t *testing.T, _ bool) (string, []string) {
			pglabtest.BinDir(t) // skips (fails under CI=true) without PostgreSQL server binaries
			// Under the system temp dir and searchable: as root the servers run as postgres, who
			// cannot enter t.TempDir().
			dir, err := os.MkdirTemp("", "drill-labrecover-")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// Whatever the test left, even failing half-way.
				labs, _ := filepath.Glob(filepath.Join(dir, "drill-pglab-*"))
				for _, l := range labs {
					_ = pglab.KillUnder(context.Background(), l)
				}
				_ = os.RemoveAll(dir)
			})
			return dir, nil
		},
		left: func(dir string) []string {
			var out []string
			for _, l := range pglab.ProcessesUnder(dir) {
				out = append(out, l.String())
			}
			return out
		},
	}
}

// TestBinarySIGKILLBeforeFirstFaultThenRecover SIGKILLs the built binary after its lab was
// created but before any fault was journaled, once while the lab is still starting (its state
// file just written, members being spawned or initdb running) and once in steady state (held
// there by a steady-state probe that never answers). The lab's own journal record must then
// make `drill recover --list` name it, `drill run` refuse the system (exit 3, naming `drill
// recover`), and `drill recover` leave no process and no lab dir behind, exit 0, with nothing
// left for a second recover.
func TestBinarySIGKILLBeforeFirstFaultThenRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	// A steady-state probe that hangs keeps the drill before injection for as long as the test
	// needs; loopback only.
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hang); srv.Close() })

	for _, b := range []labBackend{etcdBackend(), postgresBackend()} {
		for _, when := range []string{"starting", "steady-state"} {
			t.Run(b.name+"/"+when, func(t *testing.T) {
				tmp, env := b.setup(t, when == "starting")
				bin, err := buildOnce()
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				system := "lableft-" + b.name
				scen := filepath.Join(dir, "lab.yaml")
				if err := os.WriteFile(scen, []byte(fmt.Sprintf(`version: 1
name: lableft-%[1]s
system: %[2]s
objectives: { rto: 10s }
environment:
  %[3]s
probes:
  - { name: hang, type: http, interval: 1s, timeout: 2m, with: { url: "%[4]s" } }
steadyState: [hang]
faults:
  - %[5]s
limits: { timeout: 5m, observe: 1s }
`, b.name, system, b.env, srv.URL, b.fault)), 0o644); err != nil {
					t.Fatal(err)
				}
				state := filepath.Join(dir, "state")
				d := drillBin{t: t, bin: filepath.Join(bin, "drill"), env: append(append(os.Environ(),
					"DRILL_HISTORY="+filepath.Join(state, "history.db"), "TMPDIR="+tmp), env...)}

				cmd := exec.Command(d.bin, "run", "-v", scen)
				cmd.Env = d.env
				stderr, err := cmd.StderrPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
				log := &strings.Builder{}
				lines := make(chan string, 1024)
				go func() {
					sc := bufio.NewScanner(stderr)
					for sc.Scan() {
						lines <- sc.Text()
					}
					close(lines)
				}()
				var lab string
				deadline := time.After(3 * time.Minute)
			wait:
				for {
					if when == "starting" {
						if labs, _ := filepath.Glob(filepath.Join(tmp, b.glob, b.stateFile)); len(labs) == 1 {
							lab = filepath.Dir(labs[0])
							break
						}
					}
					select {
					case l, ok := <-lines:
						if !ok {
							_ = cmd.Wait()
							t.Fatalf("drill ended before the lab was up:\n%s", log)
						}
						log.WriteString(l + "\n")
						if when == "steady-state" && strings.Contains(l, b.started) {
							break wait
						}
					case <-time.After(time.Millisecond):
					case <-deadline:
						t.Fatalf("no lab after 3m:\n%s", log)
					}
				}
				sigkill(t, cmd)
				go func() {
					for range lines {
					}
				}()
				if lab == "" {
					labs, _ := filepath.Glob(filepath.Join(tmp, b.glob))
					if len(labs) != 1 {
						t.Fatalf("lab dirs after SIGKILL: %v, want the drill's one\n%s", labs, log)
					}
					lab = labs[0]
				}
				// Killed before its first fault: the journal holds the lab, and nothing else.
				runs, err := journal.List(journal.Dir(state))
				if err != nil || len(runs) != 1 {
					t.Fatalf("journals: %v %+v, want the killed run's", err, runs)
				}
				pending := runs[0].Pending()
				if len(pending) != 1 || !pending[0].Resource || pending[0].Type != b.resource {
					t.Fatalf("journal pending %+v, want only the %s", pending, b.resource)
				}
				var rec struct {
					Dir     string `json:"dir"`
					Members []any  `json:"members"`
				}
				if err := json.Unmarshal(pending[0].Record, &rec); err != nil || rec.Dir != lab {
					t.Fatalf("journaled record %s (%v), want lab dir %s", pending[0].Record, err, lab)
				}
				if started := len(rec.Members) > 0; started != (when == "steady-state") {
					t.Fatalf("journaled members %v: the kill did not land %s", rec.Members, when)
				}

				code, stdout, stderrText := d.run("recover", "--list")
				if code != 0 || !strings.Contains(stdout, b.resource) || !strings.Contains(stdout, lab) {
					t.Errorf("recover --list: exit %d, want 0 naming %s and %s\nstdout:\n%s\nstderr:\n%s", code, b.resource, lab, stdout, stderrText)
				}
				code, _, stderrText = d.run("run", "-q", scen)
				if code != 3 || !strings.Contains(stderrText, "drill recover") || !strings.Contains(stderrText, b.resource) {
					t.Errorf("run before recover: exit %d, want 3 naming drill recover and the lab\n%s", code, stderrText)
				}

				code, stdout, stderrText = d.run("recover")
				if code != 0 {
					t.Fatalf("recover: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderrText)
				}
				if left := b.left(lab); len(left) > 0 {
					t.Errorf("processes still running from %s after recover: %v", lab, left)
				}
				if exists(lab) {
					t.Errorf("lab dir %s still there after recover\nstdout:\n%s\nstderr:\n%s", lab, stdout, stderrText)
				}
				code, stdout, _ = d.run("recover")
				if code != 0 || !strings.Contains(stdout, "nothing to recover") {
					t.Errorf("second recover: exit %d, want 0 and nothing to do\n%s", code, stdout)
				}
			})
		}
	}
}
