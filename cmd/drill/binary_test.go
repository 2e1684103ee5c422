package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drillhq/drill/internal/labdir"
	"github.com/drillhq/drill/internal/testenv"
	"github.com/drillhq/drill/result"
)

// builtBinaries compiles drill and demo-web once per test binary run, into a directory TestMain
// removes afterwards (each build is about 110 MB).
type builtBinaries struct {
	once sync.Once
	dir  string
	err  error
}

// binaries is shared by the tests that run the built binary; TestMain cleans it up.
var binaries builtBinaries

func buildOnce() (string, error) {
	binaries.once.Do(func() { binaries.dir, binaries.err = buildBinaries() })
	return binaries.dir, binaries.err
}

// remove deletes the build directory, if a test built one.
func (b *builtBinaries) remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// buildDirPrefix names build directories with the pid of the test binary that made them, so
// a later run can tell one whose owner is gone: TestMain's clean-up does not run when `go test`
// kills a test binary on -timeout.
const buildDirPrefix = "drill-bin-"

// reapStaleBuilds removes the build directories under tmp whose test binary has died.
func reapStaleBuilds(tmp string) {
	dirs, _ := filepath.Glob(filepath.Join(tmp, buildDirPrefix+"*"))
	for _, d := range dirs {
		pidText, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), buildDirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || labdir.ProcessExists(pid) {
			continue
		}
		_ = os.RemoveAll(d)
	}
}

func buildBinaries() (string, error) {
	reapStaleBuilds(os.TempDir())
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", buildDirPrefix, os.Getpid()))
	if err != nil {
		return "", err
	}
	for _, pkg := range []string{".", "../demo-web"} {
		name := "drill"
		if pkg != "." {
			name = "demo-web"
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
		if err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir, nil
}

// TestReapStaleBuilds: a build directory of a dead test binary goes; one of a live process, one
// of this process and one not named by a pid stay.
func TestReapStaleBuilds(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	if labdir.ProcessExists(dead.Process.Pid) {
		t.Skip("pid reused at once")
	}
	names := map[string]bool{ // name -> should remain
		fmt.Sprintf("%s%d-123", buildDirPrefix, dead.Process.Pid): false,
		fmt.Sprintf("%s%d-456", buildDirPrefix, os.Getpid()):      true,
		fmt.Sprintf("%s%d-789", buildDirPrefix, os.Getppid()):     true,
		buildDirPrefix + "123456789":                              true, // the old naming: no pid
	}
	for name := range names {
		if err := os.MkdirAll(filepath.Join(tmp, name, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	reapStaleBuilds(tmp)
	for name, remain := range names {
		_, err := os.Stat(filepath.Join(tmp, name))
		if exists := err == nil; exists != remain {
			t.Errorf("%s exists %v, want %v", name, exists, remain)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestBinarySIGINTRollsBack runs the built binary, sends a real SIGINT once the fault is in, then
// a second SIGINT during rollback, and checks the service is serving again afterwards.
func TestBinarySIGINTRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	scripts, _ := filepath.Abs("../../scripts")
	demoDir := t.TempDir()
	addr := freeAddr(t)
	env := append(os.Environ(),
		"DRILL_DEMO_DIR="+demoDir, "DRILL_DEMO_ADDR="+addr,
		"DRILL_DEMO_WEB="+filepath.Join(bin, "demo-web"), "DRILL_SCRIPTS="+scripts,
		"DRILL_HISTORY="+filepath.Join(demoDir, "history.db"))
	start := exec.Command(filepath.Join(scripts, "demo-web.sh"), "start")
	start.Env = env
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start demo-web: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		stop := exec.Command(filepath.Join(scripts, "demo-web.sh"), "stop")
		stop.Env = env
		_ = stop.Run()
	})

	jsonPath := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(filepath.Join(bin, "drill"), "run", "testdata/web-outage-long.yaml", "--json", jsonPath)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	sentFirst, sentSecond := false, false
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		switch {
		case !sentFirst && strings.Contains(line, "health down"):
			// The fault is in and observed: interrupt mid-drill.
			_ = cmd.Process.Signal(syscall.SIGINT)
			sentFirst = true
		case sentFirst && !sentSecond && strings.Contains(line, "phase  rollback"):
			_ = cmd.Process.Signal(syscall.SIGINT)
			sentSecond = true
		}
	}
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code != result.ExitError {
		t.Fatalf("exit code %d (err %v), want 3 (aborted)\nstderr:\n%s", code, err, log.String())
	}
	if !sentFirst || !sentSecond {
		t.Fatalf("signals not sent (first %v, second %v); stderr:\n%s", sentFirst, sentSecond, log.String())
	}
	if !strings.Contains(log.String(), "refusing to exit until rollback has finished") {
		t.Errorf("second SIGINT not refused; stderr:\n%s", log.String())
	}
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatalf("service not back after the interrupted drill (fault left in place): %v", err)
	}
	resp.Body.Close()

	var res result.Result
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("JSON not written after Ctrl-C: %v", err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Verdict != result.VerdictAborted || res.Faults[0].RevertedAtMs == nil || res.Faults[0].RevertError != "" {
		t.Errorf("verdict %s, fault %+v: want aborted with a clean revert", res.Verdict, res.Faults[0])
	}
	if !strings.Contains(stdout.String(), "ABORTED") {
		t.Errorf("summary on stdout lacks the verdict:\n%s", stdout.String())
	}
	_ = time.Second
}

// TestBinarySIGINTLeavesNoEtcdBehind interrupts an etcd drill on the built binary right after
// the fault is injected: the drill must roll back and remove its lab, leaving no etcd process
// and no temporary directory.
func TestBinarySIGINTLeavesNoEtcdBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary with a real etcd lab")
	}
	etcdBin, _ := filepath.Abs("../../bin/etcd")
	if _, err := os.Stat(etcdBin); err != nil {
		testenv.Need(t, "etcd server", "make etcd", err.Error())
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir() // the lab's temporary directory is created under TMPDIR
	cmd := exec.Command(filepath.Join(bin, "drill"), "run", "--etcd-binary", etcdBin, "../../scenarios/library/etcd/follower-loss.yaml")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "DRILL_HISTORY="+filepath.Join(t.TempDir(), "h.db"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	sent := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !sent && strings.Contains(sc.Text(), "kill-follower injected") {
			_ = cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != result.ExitError || !sent {
		t.Fatalf("exit %d (signal sent: %v), want 3 (aborted)\n%s", code, sent, log.String())
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
	// No etcd process may still use a data dir under this test's TMPDIR.
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), tmp) {
			t.Errorf("process still running after the interrupted drill: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
}
