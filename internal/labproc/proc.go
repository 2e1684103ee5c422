package labproc

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// State is the state of a server process, as the kernel reports it.
type State int

const (
	Exited  State = iota // no such process, a zombie, or another program reusing the pid
	Running              // running or sleeping
	Stopped              // stopped by a signal (SIGSTOP)
)

func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Stopped:
		return "stopped"
	default:
		return "exited"
	}
}

// stateOf maps a scheduler state letter (/proc/<pid>/stat, ps -o stat) to a State.
func stateOf(letter byte) State {
	switch letter {
	case 'Z', 'X', 'x':
		return Exited
	case 'T', 't':
		return Stopped
	default:
		return Running
	}
}

// Info is what /proc says about one process.
type Info struct {
	PID, PPID int
	state     byte
	Cmdline   []string
}

// Read reads /proc/<pid>; false when there is no such process (or no /proc).
func Read(pid int) (Info, bool) {
	base := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(base + "/stat")
	if err != nil {
		return Info{}, false
	}
	f, ok := statFields(stat)
	if !ok || len(f) < 2 {
		return Info{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	cmdline, _ := os.ReadFile(base + "/cmdline")
	return Info{PID: pid, PPID: ppid, state: f[0][0], Cmdline: splitCmdline(cmdline)}, true
}

// statFields are the fields of a /proc/<pid>/stat after the command name, which is
// parenthesised and may contain ')'.
func statFields(stat []byte) ([]string, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return nil, false
	}
	return strings.Fields(string(stat[i+2:])), true
}

func splitCmdline(b []byte) []string {
	return strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
}

// Alive reports whether the process is neither a zombie nor dead.
func (p Info) Alive() bool { return stateOf(p.state) != Exited }

// State is the process's state.
func (p Info) State() State { return stateOf(p.state) }

// Title is the command line as one string (a server child's process title).
func (p Info) Title() string { return strings.Join(p.Cmdline, " ") }

// All scans /proc once; nothing where there is no /proc.
func All() []Info {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Info
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := Read(pid); ok {
			out = append(out, p)
		}
	}
	return out
}

// StatState reads the scheduler state of pid, from /proc or, without one (macOS), from ps.
func StatState(pid int) State {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err == nil {
		f, ok := statFields(stat)
		if !ok || len(f) == 0 {
			return Exited
		}
		return stateOf(f[0][0])
	}
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return Exited
	}
	return stateOf(bytes.TrimSpace(out)[0])
}

// Cmdline reads pid's arguments, from /proc or, without one (macOS), from ps (which splits
// them at white space); false when the process cannot be read.
func Cmdline(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err == nil {
		return splitCmdline(b), true
	}
	out, err := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return nil, false
	}
	return strings.Fields(string(out)), true
}
