package labdir

import (
	"context"
	"fmt"
	"log/slog"
)

// Recovery is what `drill recover` needs to remove one journaled lab, whatever its kind: the
// record's data plus the few operations of the lab's own manager.
type Recovery struct {
	Kind     string // "etcd lab", "postgres lab": names the lab in messages
	Dir      string
	OwnerPID int    // the drill's pid, as journaled
	Keep     bool   // started with --keep-lab
	DownCmd  string // the command that removes a kept lab
	// Open reads the lab's state file: found false when there is none (never written, or the
	// lab was removed already); owner is the pid the state names; down takes the lab away.
	Open func() (found bool, owner int, down func(context.Context) error, err error)
	// Leftovers describes processes still running from Dir ("" for none).
	Leftovers func() string
	// RemoveUnstarted deletes what the manager creates before it writes its state file.
	RemoveUnstarted func() error
}

// Recover removes the lab the record names. It is a no-op on a lab already gone, so it is
// idempotent; a kept lab is left running (the user asked for it to outlive the drill, so a
// crash must not destroy it); a lab whose state names another owner is refused, and so is a
// directory without state that processes still run from: not ours to guess about.
func (r Recovery) Recover(ctx context.Context, log *slog.Logger) error {
	if r.Keep {
		log.Warn(r.Kind + " kept (--keep-lab): drill recover leaves it running; remove it with `" + r.DownCmd + "`")
		return nil
	}
	found, owner, down, err := r.Open()
	if err != nil {
		return fmt.Errorf("recover %s %s: %w", r.Kind, r.Dir, err)
	}
	if !found {
		if left := r.Leftovers(); left != "" {
			return fmt.Errorf("recover %s %s: no lab state, but processes still run there: %s (stop them by hand)", r.Kind, r.Dir, left)
		}
		if err := r.RemoveUnstarted(); err != nil {
			return fmt.Errorf("recover %s: %w", r.Kind, err)
		}
		return nil
	}
	if owner != r.OwnerPID {
		return fmt.Errorf("recover %s %s: it belongs to process %d now, the drill's was %d: not touching it", r.Kind, r.Dir, owner, r.OwnerPID)
	}
	if err := down(ctx); err != nil {
		return fmt.Errorf("recover %s %s: take it down: %w", r.Kind, r.Dir, err)
	}
	return nil
}
