package scenarios

import (
	"cmp"
	"slices"
	"strings"
)

// Error is one problem found in a scenario file.
type Error struct {
	Pos  Position
	Path string // dotted key path such as probes[0].interval; empty for file-level problems
	Msg  string
}

// Error formats the problem as "file:line:col: path: message".
func (e Error) Error() string {
	if e.Path == "" {
		return e.Pos.String() + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Path + ": " + e.Msg
}

// Errors is every problem found in one scenario, sorted by position. Load and Parse return it
// as *Errors so a CLI can print one line per problem.
type Errors []Error

// Error prints all problems, one per line.
func (e *Errors) Error() string {
	if e == nil {
		return ""
	}
	lines := make([]string, len(*e))
	for i, err := range *e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	if e == nil {
		return nil
	}
	out := make([]error, len(*e))
	for i, err := range *e {
		out[i] = err
	}
	return out
}

// sortErrors orders problems by position and drops exact duplicates, which aliases (one node
// reachable from several places) can produce.
func sortErrors(list []Error) Errors {
	slices.SortStableFunc(list, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
		)
	})
	return Errors(slices.Compact(list))
}
