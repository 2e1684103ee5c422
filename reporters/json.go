package reporters

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/drillhq/drill/result"
)

// WriteJSON writes the drill.result/v1 document (docs/DESIGN.md §5): one result as a JSON
// object, several as a JSON array. Output is indented and deterministic (field order is the
// struct order), and lists that are empty are written as [] rather than null so consumers such
// as jq can iterate them without a guard.
func WriteJSON(w io.Writer, rs []*result.Result) error {
	docs := make([]*result.Result, len(rs))
	for i, r := range rs {
		if r == nil {
			return fmt.Errorf("write json: result %d is nil", i)
		}
		docs[i] = normalized(r)
	}
	var v any = docs
	if len(docs) == 1 {
		v = docs[0]
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Error messages often quote URLs and shell commands; keep <, > and & readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// normalized returns a copy of r with the schema set and nil lists replaced by empty ones; the
// caller's result is left untouched.
func normalized(r *result.Result) *result.Result {
	c := *r
	if c.Schema == "" {
		c.Schema = result.Schema
	}
	if c.Probes == nil {
		c.Probes = []result.Probe{}
	}
	if c.Steps == nil {
		c.Steps = []result.Step{}
	}
	if c.Events == nil {
		c.Events = []result.Event{}
	}
	c.Faults = make([]result.Fault, len(r.Faults))
	copy(c.Faults, r.Faults)
	for i := range c.Faults {
		if c.Faults[i].Targets == nil {
			c.Faults[i].Targets = []string{}
		}
	}
	return &c
}

// WriteFileAtomic writes a report to path so that readers (and a crash) only ever see the old
// file or the complete new one: write goes to a temporary file in the same directory, which is
// synced and then renamed over path. On any error, or a panic in write, the temporary file is
// removed and path is left as it was.
//
// The file is owner-only (0600, less under a stricter umask, as CreateTemp makes it), also when
// it replaces a file that was wider: results and reports describe production systems and what
// went wrong in them, and are shared on purpose (a CI artifact, a copy), never by default.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		done = true
		return fmt.Errorf("write %s: %w", path, err)
	}
	done = true
	// Persist the rename itself; best effort, as some platforms cannot sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
