package sqlfault

import (
	"context"
	"errors"
	"fmt"

	"github.com/drillhq/drill/pglab"
	"github.com/drillhq/drill/runner"
)

// labRecord is what the PostgreSQL lab faults journal before their change: the lab, and whether
// the drill owned it.
//
// The lab is always one the sql connector started for this drill (the types are lab only, and
// environment.postgres.lab always starts a fresh lab in its own directory), so what a killed
// drill leaves is that whole lab: the directory, and any server that outlived drill with its
// shared memory. Recover removes the lab when the drill owned it (OwnerPID set: servers tied to
// drill), which is what the drill's own cleanup would have done after reverting. A --keep-lab
// lab (OwnerPID 0) was meant to outlive the drill: recover then undoes only the fault, as the
// drill's revert would have.
type labRecord struct {
	LabDir   string `json:"labDir"`
	OwnerPID int    `json:"ownerPid,omitempty"`
}

func labRecordOf(lab *pglab.Lab) labRecord {
	return labRecord{LabDir: lab.Dir(), OwnerPID: lab.State().OwnerPID}
}

// recoverLab removes the drill's lab, or calls undo on a kept one. A lab already removed is a
// no-op, so recovering twice is harmless.
func recoverLab(ctx context.Context, env *runner.Env, rec labRecord, undo func(context.Context, *pglab.Lab) error) error {
	lab, err := pglab.Open(rec.LabDir, env.Log)
	if errors.Is(err, pglab.ErrNoLab) {
		// No state file: the drill's cleanup or an earlier recover removed the lab. Without the
		// state there are no pids to check, so look for any server still running from the dir.
		if left := pglab.ProcessesUnder(rec.LabDir); len(left) > 0 {
			return fmt.Errorf("recover postgres lab %s: no lab state, but servers still run there: %v (stop them by hand)", rec.LabDir, left)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("recover postgres lab %s: %w", rec.LabDir, err)
	}
	if st := lab.State(); st.OwnerPID != rec.OwnerPID {
		return fmt.Errorf("recover postgres lab %s: it belongs to process %d now, the drill's was %d: not touching it", rec.LabDir, st.OwnerPID, rec.OwnerPID)
	}
	if rec.OwnerPID == 0 {
		if err := undo(ctx, lab); err != nil {
			return fmt.Errorf("recover postgres lab %s: %w", rec.LabDir, err)
		}
		return nil
	}
	if err := lab.Remove(ctx); err != nil {
		return fmt.Errorf("recover postgres lab %s: %w", rec.LabDir, err)
	}
	return nil
}
