package main

import (
	"os"
	"os/user"
	"runtime/debug"
	"strings"

	"github.com/drillhq/drill/result"
)

// provenance is the who and where every result of this invocation records. Each part is best
// effort: a result is never lost because the host name or user could not be read.
func provenance(a *app, f runFlags) result.Provenance {
	p := result.Provenance{
		Operator:    strings.TrimSpace(f.operator),
		Environment: strings.TrimSpace(f.environment),
		Ticket:      strings.TrimSpace(f.ticket),
		ToolCommit:  toolCommit(),
	}
	for _, n := range f.participants {
		if n = strings.TrimSpace(n); n != "" {
			p.Participants = append(p.Participants, n)
		}
	}
	if p.Operator == "" {
		p.Operator = osUser(a)
	}
	if h, err := os.Hostname(); err == nil {
		p.Host = h
	}
	return p
}

// osUser is the account drill runs as: the user database first, because $USER can be unset
// (cron, containers) or say something else (sudo).
func osUser(a *app) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if a.getenv != nil {
		return a.getenv("USER")
	}
	return ""
}

// toolCommit is the VCS revision the binary was built from, with "+dirty" when the tree had
// uncommitted changes: the -ldflags value, else Go's VCS stamp; "" when neither is there
// (go test, or a build outside a repository).
func toolCommit() string {
	if commit != "" {
		return commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	return rev
}
