package history

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// crashChildEnv makes TestCrashChild act as the writer that the parent kills.
const crashChildEnv = "DRILL_HISTORY_CRASH_CHILD"

// TestCrashChild is not a test on its own: TestSurvivesSIGKILL re-executes the test binary with
// crashChildEnv set, and this function then appends runs forever, printing "acked <id>" after
// each Append has returned (that is, after bbolt's commit and fsync).
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashChildEnv)
	if spec == "" {
		t.Skip("helper process for TestSurvivesSIGKILL")
	}
	path, prefix, _ := strings.Cut(spec, "|")
	s, err := Open(path)
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(1)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		id := fmt.Sprintf("%s-%05d", prefix, i)
		if err := s.Append(ctx, bigRun(id, i)); err != nil {
			fmt.Println("append error:", err)
			os.Exit(1)
		}
		fmt.Println("acked", id)
	}
}

// bigRun is a result large enough (~200 KB) that a commit spans many pages and takes a while,
// so the kill is likely to land in the middle of one.
func bigRun(id string, i int) *result.Result {
	r := run(id, fmt.Sprintf("scenario-%d", i%3), "crash-system", base.Add(time.Duration(i)*time.Second), result.VerdictPass)
	r.Events = make([]result.Event, 3000)
	for j := range r.Events {
		r.Events[j] = result.Event{AtMs: int64(j), Kind: result.EventProbe, Message: fmt.Sprintf("probe health sample %d of run %s went down and came back up", j, id)}
	}
	return r
}

func TestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	path := filepath.Join(t.TempDir(), "history.db")
	acked := map[string]bool{}
	// Several rounds: each child reopens the store a previous child left behind mid-write.
	for round := 0; round < 4; round++ {
		for id := range killWriterMidway(t, path, fmt.Sprintf("round%d", round), 15+round*5) {
			acked[id] = true
		}
	}

	s, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("store does not open after SIGKILL: %v", err)
	}
	defer s.Close()
	if err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("bbolt consistency check after SIGKILL: %v", err)
	}
	// List decodes every record: an incomplete JSON document fails here.
	all, err := s.List(context.Background(), Filter{})
	if err != nil {
		t.Fatalf("list after SIGKILL: %v", err)
	}
	stored := map[string]bool{}
	for _, r := range all {
		if r.Schema != result.Schema || len(r.Events) != 3000 || r.Events[2999].AtMs != 2999 {
			t.Errorf("run %s is incomplete: schema %q, %d events", r.RunID, r.Schema, len(r.Events))
		}
		stored[r.RunID] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("run %s was acknowledged before the kill but is missing", id)
		}
	}
	// At most the run being written when the process died may be missing or present unacked.
	if extra := len(stored) - len(acked); extra < 0 || extra > 4 {
		t.Errorf("stored %d runs, acknowledged %d: want at most one unacknowledged run per kill", len(stored), len(acked))
	}
	t.Logf("%d runs acknowledged over 4 kills, %d stored", len(acked), len(stored))
}

// killWriterMidway starts a child that appends in a loop, SIGKILLs it after `after`
// acknowledged appends, and returns every run id the child acknowledged.
func killWriterMidway(t *testing.T, path, prefix string, after int) map[string]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path+"|"+prefix)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		id, ok := strings.CutPrefix(line, "acked ")
		if !ok {
			if !killed {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child: %s", line)
			}
			continue
		}
		acked[id] = true
		if len(acked) == after && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before it was killed: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", cmd.ProcessState)
	}
	return acked
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
