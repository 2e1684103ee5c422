package labproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadState(t *testing.T) {
	t.Parallel()
	type doc struct {
		Version int    `json:"version"`
		Name    string `json:"name"`
	}
	for _, tc := range []struct {
		name      string
		content   string // "" writes no file
		wantFound bool
		wantErr   string
		wantName  string
	}{
		{name: "missing", wantFound: false},
		{name: "current", content: `{"version":2,"name":"lab"}`, wantFound: true, wantName: "lab"},
		{name: "other version", content: `{"version":1,"name":"lab"}`, wantFound: true, wantErr: "has version 1, this drill understands 2"},
		{name: "no version", content: `{"name":"lab"}`, wantFound: true, wantErr: "has version 0"},
		{name: "not json", content: `{`, wantFound: true, wantErr: "read lab state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.json")
			if tc.content != "" {
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var d doc
			found, err := ReadState(path, 2, &d)
			if found != tc.wantFound {
				t.Errorf("found = %v, want %v", found, tc.wantFound)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if d.Name != tc.wantName && tc.wantErr == "" {
				t.Errorf("name = %q, want %q", d.Name, tc.wantName)
			}
		})
	}
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	for letter, want := range map[byte]State{
		'R': Running, 'S': Running, 'D': Running, 'I': Running,
		'T': Stopped, 't': Stopped,
		'Z': Exited, 'X': Exited, 'x': Exited,
	} {
		if got := stateOf(letter); got != want {
			t.Errorf("stateOf(%q) = %v, want %v", letter, got, want)
		}
	}
}

// TestStartedProcess follows one process through the states the labs read: running, stopped by
// SIGSTOP, gone after SIGKILL, as its handle, /proc and the state scan all see it.
func TestStartedProcess(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep binary")
	}
	sp := NewSpawner()
	defer sp.Stop()
	log := filepath.Join(t.TempDir(), "sleep.log")
	p, err := Start(sp, exec.Command("sleep", "30"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
		<-p.Done()
	})
	if got := p.State(); got != Running {
		t.Errorf("State of a started process = %v, want running", got)
	}
	if _, err := os.Stat(log); err != nil {
		t.Errorf("log file not created: %v", err)
	}
	if err := syscall.Kill(p.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitState(t, p.Pid(), Stopped)
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("killed process was not reaped")
	}
	if p.Err() == nil {
		t.Error("Err of a killed process is nil")
	}
	if got := p.State(); got != Exited {
		t.Errorf("State of a reaped process = %v, want exited", got)
	}
	if got := StatState(p.Pid()); got != Exited {
		t.Errorf("StatState of a reaped pid = %v, want exited", got)
	}
}

// waitState polls, because signal delivery is asynchronous.
func waitState(t *testing.T, pid int, want State) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for StatState(pid) != want {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d state = %v, want %v", pid, StatState(pid), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if args, ok := Cmdline(pid); !ok || len(args) != 2 || args[0] != "sleep" || args[1] != "30" {
		t.Errorf("Cmdline(%d) = %q, %v; want [sleep 30]", pid, args, ok)
	}
	var seen bool
	for _, p := range All() {
		if p.PID == pid {
			seen = true
			if p.State() != want || p.PPID != os.Getpid() {
				t.Errorf("All has pid %d as state %v, parent %d; want %v, parent %d", pid, p.State(), p.PPID, want, os.Getpid())
			}
		}
	}
	if !seen {
		t.Errorf("All does not list pid %d", pid)
	}
}

func TestStoppedSpawnerStartsNothing(t *testing.T) {
	t.Parallel()
	sp := NewSpawner()
	sp.Stop()
	sp.Stop() // a second Stop must not panic
	if _, err := Start(sp, exec.Command("true"), filepath.Join(t.TempDir(), "log")); err != ErrStopped {
		t.Fatalf("Start on a stopped spawner = %v, want ErrStopped", err)
	}
}

func TestLastLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb\n", 5, "a\nb"},
		{"", 3, ""},
	} {
		if got := LastLines([]byte(tc.in), tc.n); got != tc.want {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
