package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/result"
)

// markerScenario: the fault creates keep (which only its revert removes) and takes the service
// down for a moment (down, removed by a background job), so a whole run passes while a killed
// run leaves keep behind.
func markerScenario(t *testing.T, dir string) (path, keep string) {
	t.Helper()
	keep, down := filepath.Join(dir, "keep"), filepath.Join(dir, "down")
	path = filepath.Join(dir, "marker.yaml")
	body := fmt.Sprintf(`version: 1
name: marker
system: marker-system
objectives: { rto: 10s }
probes:
  - { name: up, type: command, interval: 50ms, timeout: 1s, with: { run: "test ! -e %[2]s" } }
steadyState: [up]
faults:
  - name: mark
    type: command
    with: { run: "touch %[1]s %[2]s; (sleep 1; rm -f %[2]s) >/dev/null 2>&1 &", revert: "rm -f %[1]s" }
limits: { timeout: 30s, observe: 300ms }
`, keep, down)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, keep
}

type drillBin struct {
	t   *testing.T
	bin string
	env []string
}

func (d drillBin) run(args ...string) (code int, stdout, stderr string) {
	d.t.Helper()
	cmd := exec.Command(d.bin, args...)
	cmd.Env = d.env
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		d.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// start runs `drill run` and returns once the fault is injected; kill then SIGKILLs it.
func (d drillBin) startUntilInjected(args ...string) (cmd *exec.Cmd, log *strings.Builder) {
	d.t.Helper()
	cmd = exec.Command(d.bin, append([]string{"run"}, args...)...)
	cmd.Env = d.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	log = &strings.Builder{}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "mark injected") {
			go func() { // keep draining so the drill never blocks on a full pipe
				for sc.Scan() {
				}
			}()
			return cmd, log
		}
	}
	_ = cmd.Wait()
	d.t.Fatalf("drill ended before injecting:\n%s", log)
	return nil, nil
}

func sigkill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestBinarySIGKILLThenRecover kills the built binary mid-drill with SIGKILL (no rollback can
// run), then checks everything the journal promises: the fault is named, the system is refused
// and locked, history shows the run, recover reverts it once and then has nothing to do.
func TestBinarySIGKILLThenRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	scen, keep := markerScenario(t, dir)
	d := drillBin{t: t, bin: filepath.Join(bin, "drill"), env: append(os.Environ(), "DRILL_HISTORY="+filepath.Join(state, "history.db"))}

	first, log := d.startUntilInjected("-q=false", scen)

	// While it runs, a second drill of the same system is refused, naming the holder.
	code, _, stderr := d.run("run", scen)
	if code != result.ExitError || !strings.Contains(stderr, "pid "+strconv.Itoa(first.Process.Pid)) || !strings.Contains(stderr, "one drill per system") {
		t.Errorf("second drill while the first runs: exit %d, want 3 naming pid %d\n%s", code, first.Process.Pid, stderr)
	}
	code, stdout, _ := d.run("recover", "--list")
	if code != 0 || !strings.Contains(stdout, "running") {
		t.Errorf("recover --list during the drill: exit %d, want the run shown as running\n%s", code, stdout)
	}

	sigkill(t, first)
	if !exists(keep) {
		t.Fatalf("the fault's marker is gone although the drill was SIGKILLed:\n%s", log)
	}
	journals, _ := filepath.Glob(filepath.Join(state, "journal", "*.jsonl"))
	if len(journals) != 1 {
		t.Fatalf("journals after SIGKILL: %v, want one", journals)
	}
	runID := strings.TrimSuffix(filepath.Base(journals[0]), ".jsonl")
	if fi, err := os.Stat(journals[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode: %v %v, want 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(state, "journal")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("journal dir mode: %v %v, want 0700", fi.Mode(), err)
	}

	// The system is refused until recover.
	code, _, stderr = d.run("run", scen)
	if code != result.ExitError || !strings.Contains(stderr, "drill recover") || !strings.Contains(stderr, runID) || !strings.Contains(stderr, "fault mark (command)") {
		t.Errorf("run over a leftover: exit %d, want 3 naming run %s, fault mark and drill recover\n%s", code, runID, stderr)
	}
	if !exists(keep) {
		t.Fatal("the refused run touched the system")
	}
	code, stdout, _ = d.run("history")
	if code != 0 || !strings.Contains(stdout, runID) || !strings.Contains(stdout, "interrupted") {
		t.Errorf("history: exit %d, want run %s shown as interrupted\n%s", code, runID, stdout)
	}

	code, stdout, stderr = d.run("recover", "--list")
	if code != 0 || !strings.Contains(stdout, runID) || !strings.Contains(stdout, "mark") || !strings.Contains(stdout, "killed drill") {
		t.Errorf("recover --list: exit %d, want the table naming %s / mark\nstdout:\n%s\nstderr:\n%s", code, runID, stdout, stderr)
	}
	if strings.Contains(stdout, "rm -f") {
		t.Errorf("recover --list printed the journaled revert script:\n%s", stdout)
	}
	if !exists(keep) {
		t.Fatal("recover --list reverted something")
	}

	code, stdout, stderr = d.run("recover")
	if code != 0 || exists(keep) {
		t.Fatalf("recover: exit %d, marker still there: %v\nstdout:\n%s\nstderr:\n%s", code, exists(keep), stdout, stderr)
	}
	code, stdout, _ = d.run("recover")
	if code != 0 || !strings.Contains(stdout, "nothing to recover") {
		t.Errorf("second recover: exit %d, want 0 and nothing to do\n%s", code, stdout)
	}
	code, stdout, _ = d.run("history", "--run", runID)
	if code != 0 || !strings.Contains(stdout, "interrupted") {
		t.Errorf("history after recover: exit %d, want the run still shown as interrupted\n%s", code, stdout)
	}

	// --force drills over a leftover, says so, and leaves the leftover for recover.
	// The killed drill's outage ends by itself (a background job): wait for steady state.
	waitGone := func() {
		for deadline := time.Now().Add(10 * time.Second); exists(filepath.Join(dir, "down")) && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitGone()
	second, _ := d.startUntilInjected(scen)
	sigkill(t, second)
	waitGone()
	code, _, stderr = d.run("run", "--force", scen)
	if code != 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("run --force: exit %d, want 0 with a warning\n%s", code, stderr)
	}
	code, stdout, stderr = d.run("recover")
	if code != 0 || strings.Contains(stdout, "nothing to recover") {
		t.Errorf("recover after --force: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(state, "journal", "*.jsonl")); len(left) != 0 {
		t.Errorf("journals left after recover: %v", left)
	}
}

// TestBinarySIGKILLEtcdLabThenRecover SIGKILLs the binary after etcd-kill-member journaled, and
// checks what the etcd lab record promises: `drill recover` leaves no member process and no lab
// dir, and a second recover has nothing to do.
func TestBinarySIGKILLEtcdLabThenRecover(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	etcdBin, err := etcdlab.FindEtcd("")
	if errors.Is(err, etcdlab.ErrNoBinary) {
		t.Skip("no etcd binary (make etcd)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Parallel()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp") // the connector makes its lab dir here
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	scen := filepath.Join(dir, "etcd.yaml")
	if err := os.WriteFile(scen, []byte(`version: 1
name: etcd-killed
system: etcd-killed
objectives: { rto: 10s }
environment:
  etcd:
    lab: { members: 3 }
probes:
  - { name: health, type: etcd-health, interval: 50ms, timeout: 500ms }
steadyState: [health]
faults:
  - name: mark
    type: etcd-kill-member
    with: { member: follower, signal: SIGKILL }
limits: { timeout: 2m, observe: 1m }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	d := drillBin{t: t, bin: filepath.Join(bin, "drill"), env: append(os.Environ(),
		"DRILL_HISTORY="+filepath.Join(state, "history.db"), "TMPDIR="+tmp, etcdlab.EnvEtcdBinary+"="+etcdBin)}

	first, log := d.startUntilInjected("-q=false", scen)
	sigkill(t, first)
	labs, _ := filepath.Glob(filepath.Join(tmp, "drill-lab-*"))
	if len(labs) != 1 {
		t.Fatalf("lab dirs after SIGKILL: %v, want the drill's one\n%s", labs, log)
	}
	code, stdout, stderr := d.run("recover")
	if code != 0 {
		t.Fatalf("recover: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if left := etcdlab.MembersUnder(labs[0]); len(left) > 0 {
		t.Errorf("etcd members still running after recover: %v", left)
	}
	if exists(labs[0]) {
		t.Errorf("lab dir %s still there after recover\nstdout:\n%s\nstderr:\n%s", labs[0], stdout, stderr)
	}
	code, stdout, _ = d.run("recover")
	if code != 0 || !strings.Contains(stdout, "nothing to recover") {
		t.Errorf("second recover: exit %d, want 0 and nothing to do\n%s", code, stdout)
	}
}
