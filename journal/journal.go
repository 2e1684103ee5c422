// Package journal is drill's crash record: before a fault changes anything, what it is about to
// do and the data needed to undo it are appended and fsync'd to a per-run file, so a drill killed
// mid-run (SIGKILL, OOM, a lost CI runner) leaves a precise list of what is still broken that
// `drill recover` can revert from a new process. A run whose faults were all reverted removes
// its file; a file that stays is, by definition, unfinished business.
//
// One file per run (<state>/journal/<run id>.jsonl), one JSON object per line, appended only.
// The last line may be torn by a kill mid-write: readers skip it with a note rather than fail,
// because the fsync of the previous line is what the guarantee rests on.
package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// File and directory modes: revert data can hold expanded ${VAR} values (passwords in a revert
// script), so nobody but the user may read it.
const (
	DirMode  = 0o700
	FileMode = 0o600
)

// Entry ops.
const (
	OpStart    = "start"    // the run began; nothing injected yet
	OpInject   = "inject"   // a fault is about to change something (written before the change)
	OpReverted = "reverted" // that fault is back in its original state
)

// Entry is one line of a journal file.
type Entry struct {
	Op string    `json:"op"`
	At time.Time `json:"at"`

	// Set on start.
	RunID        string `json:"runId,omitempty"`
	Scenario     string `json:"scenario,omitempty"`
	ScenarioFile string `json:"scenarioFile,omitempty"`
	System       string `json:"system,omitempty"`
	Host         string `json:"host,omitempty"`
	PID          int    `json:"pid,omitempty"`

	// Set on inject and reverted. A later inject line for the same fault supersedes an earlier
	// one: the runner writes an intent line, and the fault refines it with its revert data.
	Fault   string          `json:"fault,omitempty"`
	Type    string          `json:"type,omitempty"`
	Targets []string        `json:"targets,omitempty"`
	Record  json.RawMessage `json:"record,omitempty"`
	Note    string          `json:"note,omitempty"`
	// Resource marks an inject/reverted line about something the drill set up rather than broke
	// (a lab: processes and a directory), named by its type. Faults and resources are separate
	// name spaces, so a fault may share a resource type's name.
	Resource bool `json:"resource,omitempty"`
}

// key names one fault or one resource of a run.
type key struct {
	resource bool
	name     string
}

func (k key) String() string {
	if k.resource {
		return "resource " + k.name
	}
	return k.name
}

// RunInfo identifies the run a journal belongs to.
type RunInfo struct {
	RunID        string
	Scenario     string
	ScenarioFile string
	System       string
}

// Dir is where journals live under drill's state directory.
func Dir(stateDir string) string { return filepath.Join(stateDir, "journal") }

// Writer appends to one run's journal. Safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	pending map[key]bool // fault or resource -> not yet reverted
}

// Create starts the journal of a new run in dir, creating dir if needed. The start line is on
// disk, and the file's directory entry too, when Create returns.
func Create(dir string, run RunInfo) (*Writer, error) {
	if run.RunID == "" || strings.ContainsAny(run.RunID, `/\`) {
		return nil, fmt.Errorf("create journal: invalid run id %q", run.RunID)
	}
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	path := filepath.Join(dir, run.RunID+".jsonl")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, FileMode)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	w := &Writer{f: f, path: path, pending: map[key]bool{}}
	host, _ := os.Hostname()
	start := Entry{Op: OpStart, RunID: run.RunID, Scenario: run.Scenario, ScenarioFile: run.ScenarioFile, System: run.System, Host: host, PID: os.Getpid()}
	if err := w.append(start); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create journal %s: %w", path, err)
	}
	// Without this the file could vanish in a power cut even though its lines were fsync'd.
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("create journal %s: %w", path, err)
	}
	return w, nil
}

// OpenAppend opens an existing journal to record reverts (drill recover). A torn last line is
// terminated first so the next line does not fuse with it.
func OpenAppend(path string) (*Writer, error) {
	run, err := Read(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, FileMode)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if err := terminateTornLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	w := &Writer{f: f, path: path, pending: map[key]bool{}}
	for _, fl := range run.Pending() {
		w.pending[fl.key()] = true
	}
	return w, nil
}

func terminateTornLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := f.Write([]byte{'\n'}); err != nil {
		return err
	}
	return f.Sync()
}

// Path is the journal file.
func (w *Writer) Path() string { return w.path }

// Injecting records, durably, that fault is about to change targets, with the data its type
// needs to revert it (nil while only the intent is known). Call it before the change: if it
// fails, do not make the change.
func (w *Writer) Injecting(ctx context.Context, fault, typ string, targets []string, record json.RawMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal fault %s: %w", fault, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.append(Entry{Op: OpInject, Fault: fault, Type: typ, Targets: targets, Record: record}); err != nil {
		return fmt.Errorf("journal fault %s: %w", fault, err)
	}
	w.pending[key{name: fault}] = true
	return nil
}

// Creating records, durably, that the drill is about to set up a resource of type typ (a lab)
// at targets, with the data its type needs to remove it; a later call for the same type
// supersedes the earlier one. Call it before creating anything: if it fails, create nothing.
func (w *Writer) Creating(ctx context.Context, typ string, targets []string, record json.RawMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("journal %s: %w", typ, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.append(Entry{Op: OpInject, Resource: true, Fault: typ, Type: typ, Targets: targets, Record: record}); err != nil {
		return fmt.Errorf("journal %s: %w", typ, err)
	}
	w.pending[key{resource: true, name: typ}] = true
	return nil
}

// Removed records that the resource of type typ is gone, or was kept on purpose (note says
// which). Like Reverted, it ignores ctx cancellation.
func (w *Writer) Removed(_ context.Context, typ, note string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.append(Entry{Op: OpReverted, Resource: true, Fault: typ, Note: note}); err != nil {
		return fmt.Errorf("journal removal of %s: %w", typ, err)
	}
	delete(w.pending, key{resource: true, name: typ})
	return nil
}

// Resolved records that fl, a fault or a resource as Read folded it, is reverted or removed
// (drill recover).
func (w *Writer) Resolved(ctx context.Context, fl Fault, note string) error {
	if fl.Resource {
		return w.Removed(ctx, fl.Name, note)
	}
	return w.Reverted(ctx, fl.Name, note)
}

// Reverted records that fault is back in its original state. It ignores ctx cancellation on
// purpose: the revert already happened and recording it is what spares a needless recover.
func (w *Writer) Reverted(_ context.Context, fault, note string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.append(Entry{Op: OpReverted, Fault: fault, Note: note}); err != nil {
		return fmt.Errorf("journal revert of %s: %w", fault, err)
	}
	delete(w.pending, key{name: fault})
	return nil
}

// Pending names the faults recorded as injected and not reverted, and the resources ("resource
// TYPE") not removed, sorted.
func (w *Writer) Pending() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.pending))
	for k := range w.pending {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return out
}

// Finish closes the journal and removes it when nothing is left to revert; otherwise the file
// stays for `drill recover` and Finish reports removed=false.
func (w *Writer) Finish() (removed bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.f.Close(); err != nil {
		return false, fmt.Errorf("close journal %s: %w", w.path, err)
	}
	if len(w.pending) > 0 {
		return false, nil
	}
	if err := os.Remove(w.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("remove journal %s: %w", w.path, err)
	}
	if err := syncDir(filepath.Dir(w.path)); err != nil {
		return true, fmt.Errorf("remove journal %s: %w", w.path, err)
	}
	return true, nil
}

// Close closes the file and keeps it, whatever is pending.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// append writes one line and fsyncs it. Callers hold w.mu (or own w exclusively).
func (w *Writer) append(e Entry) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	// One write call per line: O_APPEND makes it land whole at the end, or torn by a crash,
	// never interleaved with another writer's line.
	if _, err := w.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return w.f.Sync()
}

// Fault is one fault's folded state in a journal, or one resource's (Resource set; Name is then
// its type).
type Fault struct {
	Resource   bool
	Name       string
	Type       string
	Targets    []string
	Record     json.RawMessage // nil: the fault journaled no revert data (only the runner's intent)
	InjectedAt time.Time
	Reverted   bool
	Note       string // how it was reverted
}

func (f Fault) key() key { return key{resource: f.Resource, name: f.Name} }

// Run is a journal file folded: who ran what, and each fault's latest state.
type Run struct {
	Path string
	RunInfo
	Host    string
	PID     int
	Started time.Time
	Faults  []Fault // faults and resources, in first-injection order
	// Skipped explains lines that could not be read (a torn last line after a kill).
	Skipped []string
}

// Pending returns the faults not recorded as reverted.
func (r Run) Pending() []Fault {
	var out []Fault
	for _, f := range r.Faults {
		if !f.Reverted {
			out = append(out, f)
		}
	}
	return out
}

// Read folds one journal file.
func Read(path string) (Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return Run{}, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	run, err := parse(f)
	run.Path = path
	if err != nil {
		return run, fmt.Errorf("read journal %s: %w", path, err)
	}
	if run.RunID == "" {
		run.RunID = strings.TrimSuffix(filepath.Base(path), ".jsonl")
	}
	return run, nil
}

func parse(rd io.Reader) (Run, error) {
	var run Run
	index := map[key]int{}
	br := bufio.NewReader(rd)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return run, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return run, err
		}
		torn := !bytes.HasSuffix(line, []byte{'\n'})
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var e Entry
		if jerr := json.Unmarshal(line, &e); jerr != nil {
			why := "unreadable"
			if torn {
				why = "torn (the writer was killed mid-line; the change it announced was never started)"
			}
			run.Skipped = append(run.Skipped, fmt.Sprintf("line %d skipped: %s", n, why))
			continue
		}
		switch e.Op {
		case OpStart:
			run.RunInfo = RunInfo{RunID: e.RunID, Scenario: e.Scenario, ScenarioFile: e.ScenarioFile, System: e.System}
			run.Host, run.PID, run.Started = e.Host, e.PID, e.At
		case OpInject:
			k := key{resource: e.Resource, name: e.Fault}
			i, ok := index[k]
			if !ok {
				i = len(run.Faults)
				index[k] = i
				run.Faults = append(run.Faults, Fault{Resource: e.Resource, Name: e.Fault, InjectedAt: e.At})
			}
			fl := &run.Faults[i]
			fl.Type, fl.Reverted, fl.Note = e.Type, false, ""
			if e.Targets != nil {
				fl.Targets = e.Targets
			}
			if e.Record != nil {
				fl.Record = e.Record
			}
		case OpReverted:
			if i, ok := index[key{resource: e.Resource, name: e.Fault}]; ok {
				run.Faults[i].Reverted, run.Faults[i].Note = true, e.Note
			}
		default:
			run.Skipped = append(run.Skipped, fmt.Sprintf("line %d skipped: unknown op %q", n, e.Op))
		}
	}
}

// List reads every journal in dir, oldest run first. A missing dir means no journals. A file
// that cannot be read is returned with its error in Skipped, never silently dropped.
func List(dir string) ([]Run, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("list journals: %w", err)
	}
	var runs []Run
	for _, p := range names {
		run, err := Read(p)
		if err != nil {
			run.Path = p
			run.RunID = strings.TrimSuffix(filepath.Base(p), ".jsonl")
			run.Skipped = append(run.Skipped, err.Error())
		}
		runs = append(runs, run)
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
	return runs, nil
}

// ensureDir creates dir with DirMode. An existing dir keeps its mode: tightening a directory the
// user chose (beside --history) is not ours to do.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
