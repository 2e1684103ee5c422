package localstack

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An emulator that exits before it answers fails the start with ErrExitedEarly, its output in
// the log, the port it was given on its command line, and (LocalStack) no temporary directory
// left behind: the one start path both emulators share.
func TestStartExitedEarly(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where StartLocalStack makes its runtime directory
	// It prints its arguments and the gateway address LocalStack would listen on, then fails
	// the way an emulator whose port was taken does.
	fake := filepath.Join(t.TempDir(), "fake-emulator")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"args: $*\"\necho \"listen: $GATEWAY_LISTEN\"\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		start     func(log *bytes.Buffer) (*Server, error)
		wantInLog string
	}{
		{"moto", func(log *bytes.Buffer) (*Server, error) {
			return StartMoto(ctx, MotoOptions{Path: fake, Port: 4599, Log: log, ReadyTimeout: time.Minute})
		}, "args: -H 127.0.0.1 -p 4599"},
		{"localstack", func(log *bytes.Buffer) (*Server, error) {
			return StartLocalStack(ctx, LocalStackOptions{Python: fake, Port: 4598, Log: log, ReadyTimeout: time.Minute})
		}, "listen: 127.0.0.1:4598"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			s, err := tc.start(&log)
			if err == nil {
				_ = s.Stop()
				t.Fatal("a program that exits at once started as an emulator")
			}
			if !errors.Is(err, ErrExitedEarly) {
				t.Errorf("start = %v, want ErrExitedEarly", err)
			}
			if !strings.Contains(log.String(), tc.wantInLog) {
				t.Errorf("log = %q, want it to contain %q", log.String(), tc.wantInLog)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("the failed start left %v in the temporary directory", left)
			}
		})
	}
}

// A program that cannot be started is reported with the program's name.
func TestStartMissingProgram(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-emulator")
	_, err := StartMoto(context.Background(), MotoOptions{Path: missing})
	if err == nil || !strings.Contains(err.Error(), "start "+missing) {
		t.Errorf("StartMoto(missing) = %v, want an error naming %s", err, missing)
	}
}

// Both emulators are found the same way: the environment variable, else the project venv in
// the working directory or a parent; moto last on PATH.
func TestFindEmulator(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	t.Setenv("PATH", t.TempDir()) // no moto_server on PATH
	exe := func(rel string, mode os.FileMode) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	named, plain := exe("named", 0o755), exe("plain", 0o644)
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, tc := range []struct {
		name    string
		find    func(func(string) string) (string, error)
		envName string
		venv    string // the venv path that is made after the "nothing" cases
		none    error
	}{
		{"moto", FindMotoServer, EnvMotoServer, ".venv/bin/moto_server", ErrNoMoto},
		{"localstack", FindLocalStackPython, EnvLocalStackPython, ".venv-localstack/bin/python", ErrNoLocalStack},
	} {
		if p, err := tc.find(env(map[string]string{tc.envName: named})); p != named || err != nil {
			t.Errorf("%s with %s set = %q, %v; want %s", tc.name, tc.envName, p, err, named)
		}
		if _, err := tc.find(env(map[string]string{tc.envName: plain})); err == nil || !strings.Contains(err.Error(), "not an executable file") {
			t.Errorf("%s with %s naming a plain file = %v, want not executable", tc.name, tc.envName, err)
		}
		if p, err := tc.find(env(nil)); !errors.Is(err, tc.none) {
			t.Errorf("%s with nothing installed = %q, %v; want %v", tc.name, p, err, tc.none)
		}
		want := exe(tc.venv, 0o755)
		if p, err := tc.find(env(nil)); p != want || err != nil {
			t.Errorf("%s from %s = %q, %v; want the venv's %s", tc.name, work, p, err, want)
		}
	}
}
