package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/scenarios"
)

// loadAll loads every file, printing every problem of every file, so one invocation shows the
// whole list. It returns a usage error (exit 2) when any file is invalid.
func loadAll(a *app, cat scenarios.Catalog, paths []string) ([]*scenarios.Scenario, error) {
	var out []*scenarios.Scenario
	bad := 0
	for _, p := range paths {
		s, err := scenarios.Load(p, cat, scenarios.WithLookupEnv(os.LookupEnv))
		if err != nil {
			bad++
			printLoadError(a.stderr, p, err)
			continue
		}
		out = append(out, s)
	}
	if bad > 0 {
		return nil, &exitError{code: 2, msg: fmt.Sprintf("%d of %s invalid; nothing was run", bad, english.Count(len(paths), "scenario file", "scenario files"))}
	}
	return out, nil
}

func printLoadError(w io.Writer, path string, err error) {
	var list *scenarios.Errors
	if errors.As(err, &list) {
		for _, e := range *list {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", path, err)
}
