package labdir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveUnstarted(t *testing.T) {
	t.Parallel()
	made := []string{"members", "logs", "lab.json.tmp"}
	tests := []struct {
		name     string
		create   []string // under dir; a trailing / makes a directory
		noDir    bool
		wantErr  bool
		wantGone bool
	}{
		{name: "already gone", noDir: true, wantGone: true},
		{name: "empty", wantGone: true},
		{name: "what the lab made", create: []string{"members/", "members/m1/", "logs/", "logs/m1.log", "lab.json.tmp"}, wantGone: true},
		{name: "a file the lab did not make", create: []string{"members/", "notes.txt"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "lab")
			if !tc.noDir {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range tc.create {
				p := filepath.Join(dir, c)
				var err error
				if c[len(c)-1] == '/' {
					err = os.Mkdir(p, 0o755)
				} else {
					err = os.WriteFile(p, []byte("x"), 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			err := RemoveUnstarted(dir, made)
			if (err != nil) != tc.wantErr {
				t.Fatalf("RemoveUnstarted: %v, want error %v", err, tc.wantErr)
			}
			_, serr := os.Stat(dir)
			if gone := os.IsNotExist(serr); gone != tc.wantGone {
				t.Errorf("dir gone %v, want %v", gone, tc.wantGone)
			}
			if tc.wantErr {
				if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
					t.Errorf("a file the lab did not make was removed: %v", err)
				}
			}
		})
	}
}
