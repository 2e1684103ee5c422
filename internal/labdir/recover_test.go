package labdir

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestRecovery: each state a killed drill's lab can be in, and what recover does with it.
func TestRecovery(t *testing.T) {
	t.Parallel()
	const drill = 4242
	for _, tt := range []struct {
		name                    string
		keep, found             bool
		owner                   int
		openErr, downErr        error
		leftovers               string
		wantDown, wantUnstarted bool
		wantErr                 string
	}{
		{name: "kept", keep: true, found: true, owner: drill},
		{name: "ours", found: true, owner: drill, wantDown: true},
		{name: "ours, down fails", found: true, owner: drill, downErr: errors.New("boom"), wantDown: true, wantErr: "take it down: boom"},
		{name: "another owner", found: true, owner: 7, wantErr: "belongs to process 7 now"},
		{name: "state unreadable", openErr: errors.New("bad json"), wantErr: "bad json"},
		{name: "never started", wantUnstarted: true},
		{name: "no state, processes left", leftovers: "[m1 pid 99]", wantErr: "processes still run there: [m1 pid 99]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var downed, unstarted bool
			r := Recovery{
				Kind: "test lab", Dir: "/nonexistent/lab", OwnerPID: drill, Keep: tt.keep, DownCmd: "drill lab down",
				Open: func() (bool, int, func(context.Context) error, error) {
					return tt.found, tt.owner, func(context.Context) error { downed = true; return tt.downErr }, tt.openErr
				},
				Leftovers:       func() string { return tt.leftovers },
				RemoveUnstarted: func() error { unstarted = true; return nil },
			}
			err := r.Recover(context.Background(), slog.New(slog.DiscardHandler))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Recover = %v, want an error containing %q", err, tt.wantErr)
			}
			if downed != tt.wantDown || unstarted != tt.wantUnstarted {
				t.Errorf("took down %v, removed unstarted %v; want %v, %v", downed, unstarted, tt.wantDown, tt.wantUnstarted)
			}
		})
	}
}
