package history

import (
	"errors"
	"os"
	"path/filepath"
)

// EnvPath names the environment variable that overrides the store location.
const EnvPath = "DRILL_HISTORY"

// DefaultPath is where the store lives unless --history says otherwise: $DRILL_HISTORY, else
// $XDG_STATE_HOME/drill/history.db, else ~/.local/state/drill/history.db (the XDG default for
// state that should survive reboots but is not configuration). getenv is os.Getenv when nil;
// tests pass their own.
func DefaultPath(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv(EnvPath); p != "" {
		return p, nil
	}
	// XDG says relative values are invalid and must be ignored.
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "drill", "history.db"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil || home == "" {
			return "", errors.New("no history location: set --history, DRILL_HISTORY, XDG_STATE_HOME or HOME")
		}
	}
	return filepath.Join(home, ".local", "state", "drill", "history.db"), nil
}
