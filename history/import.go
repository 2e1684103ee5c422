package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/drillhq/drill/result"
)

// ImportStats counts what Import did with the runs it was given.
type ImportStats struct {
	Added   int // stored now
	Present int // already stored with the same content: nothing to do
	DryRuns int // dry runs: no evidence, never stored (see ErrDryRun)
	// Conflicts names runs whose id is stored with different content; stored evidence is never
	// rewritten, so they are skipped.
	Conflicts []string
}

// Import stores runs in one transaction: they enter the indexes and the hash chain exactly as
// appended runs do, and either all of them are stored or none (a crash or an error leaves the
// store as it was). Runs already stored are skipped, so importing the same artifacts twice
// changes nothing.
func (s *Store) Import(ctx context.Context, runs []*result.Result) (st ImportStats, err error) {
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("import runs into history: %w", err)
	}
	if s.db == nil {
		return st, fmt.Errorf("import runs into history: store %s is open read-only", s.path)
	}
	docs := make([][]byte, len(runs))
	for i, r := range runs {
		if r == nil || r.RunID == "" {
			return st, fmt.Errorf("import runs into history: run %d has no runId", i+1)
		}
		// Encoded like Append does, so a run imported from the JSON drill printed is
		// byte-identical to the one drill would have appended.
		if docs[i], err = json.Marshal(r); err != nil {
			return st, fmt.Errorf("import run %s into history: encode: %w", r.RunID, err)
		}
	}
	defer recoverCorrupt("import runs into history", s.path, &err)
	err = s.db.Update(func(tx *bolt.Tx) error {
		st = ImportStats{}
		now := time.Now()
		for i, r := range runs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if r.DryRun {
				st.DryRuns++
				continue
			}
			added, err := appendTx(tx, r, docs[i], now)
			switch {
			case errors.Is(err, ErrConflict):
				st.Conflicts = append(st.Conflicts, r.RunID)
			case err != nil:
				return fmt.Errorf("run %s: %w", r.RunID, err)
			case added:
				st.Added++
			default:
				st.Present++
			}
		}
		return nil
	})
	if err != nil {
		return ImportStats{}, fmt.Errorf("import runs into history %s: %w", s.path, err)
	}
	return st, nil
}

// DocError is a document that cannot be imported, positioned in its input.
type DocError struct {
	Offset int64 // byte offset in the input
	Line   int   // 1-based
	Col    int   // 1-based, in bytes
	Doc    int   // 1-based index of the document in an array; 0 for a single document
	Err    error
}

func (e *DocError) Error() string {
	where := fmt.Sprintf("line %d, column %d (offset %d)", e.Line, e.Col, e.Offset)
	if e.Doc > 0 {
		where = fmt.Sprintf("document %d at %s", e.Doc, where)
	}
	return where + ": " + e.Err.Error()
}

func (e *DocError) Unwrap() error { return e.Err }

// ParseResults decodes drill.result/v1 JSON: one document or an array of them (what
// `drill run --json` and `drill history --json` print). It checks every document before
// returning any, so a caller can refuse a whole file for one bad document.
func ParseResults(data []byte) ([]*result.Result, error) {
	// Syntax first: a truncated artifact fails here, positioned at where it stops.
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, docError(data, 0, 0, err)
	}
	start := skipSpace(data, 0)
	if data[start] != '[' {
		r, err := parseOne(data, start, raw)
		if err != nil {
			return nil, err
		}
		return []*result.Result{r}, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return nil, docError(data, 0, 0, err)
	}
	out := make([]*result.Result, 0, len(elems))
	// Each element's offset: walk forward from '[' to each element's first byte, since
	// RawMessage drops positions. Elements are valid JSON, so each is found in order.
	pos := start + 1
	for i, el := range elems {
		pos = skipSpace(data, pos)
		if data[pos] == ',' {
			pos = skipSpace(data, pos+1)
		}
		r, err := parseOne(data, pos, el)
		if err != nil {
			var de *DocError
			if errors.As(err, &de) {
				de.Doc = i + 1
			}
			return nil, err
		}
		out = append(out, r)
		pos += len(el)
	}
	return out, nil
}

// parseOne decodes and validates the document el found at offset off of data.
func parseOne(data []byte, off int, el []byte) (*result.Result, error) {
	var r result.Result
	if err := json.Unmarshal(el, &r); err != nil {
		return nil, docError(data, off, 0, err)
	}
	var problem string
	switch {
	case r.Schema != result.Schema:
		problem = fmt.Sprintf("schema is %q, not %q", r.Schema, result.Schema)
	case r.RunID == "":
		problem = "document has no runId"
	case r.Scenario == "":
		problem = "document has no scenario"
	case r.StartedAt.IsZero():
		problem = "document has no startedAt"
	}
	if problem != "" {
		return nil, docError(data, off, 0, errors.New(problem))
	}
	return &r, nil
}

// docError positions err at base plus the offset json reports (relative to the part decoded).
func docError(data []byte, base, doc int, err error) *DocError {
	off := int64(base)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read, the offending one included: point at it.
		off += max(se.Offset-1, 0)
	case errors.As(err, &te):
		off += te.Offset
	}
	off = min(off, int64(len(data)))
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &DocError{Offset: off, Line: line, Col: col, Doc: doc, Err: err}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && bytes.IndexByte([]byte(" \t\r\n"), data[i]) >= 0 {
		i++
	}
	return i
}
