package etcdfault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/drillhq/drill/backends/etcdenv"
	"github.com/drillhq/drill/etcdlab"
	"github.com/drillhq/drill/runner"
	"github.com/drillhq/drill/scenarios"
)

// Sources of etcd-restore-cluster besides a file or a directory.
const (
	// FromLatest is the newest snapshot in the lab's snapshot dir (the periodic backups and
	// saved snapshots): the restore from backup.
	FromLatest = "latest"
	// FromNewestRevision is what an operator does after quorum loss when some members survive:
	// snapshot every member still alive and restore from whichever of those and the backups holds
	// the highest revision, losing only what the survivors had not yet applied.
	FromNewestRevision = "newest-revision"
)

// RestoreClusterConfig is the `with:` block of etcd-restore-cluster.
type RestoreClusterConfig struct {
	From string `yaml:"from" doc:"latest (newest snapshot in the lab's snapshot dir), newest-revision (snapshot the surviving members, restore from the highest revision among them and the snapshot dir), a snapshot file, or a directory (its newest snapshot)"`
}

// Validate implements scenarios.Validator.
func (c *RestoreClusterConfig) Validate() error {
	if c.From == "" {
		return scenarios.FieldErrorf("from", "required: latest, newest-revision, a snapshot file or a directory")
	}
	return nil
}

// RestoreClusterType is the etcd-restore-cluster step (lab only): the disaster-recovery path
// after quorum or data loss. It stops what is left, restores every member from the same snapshot
// under a new cluster token (etcdutl snapshot restore), starts them and waits for a leader.
// Everything written after the snapshot's data was cut is lost: that is the RPO the drill
// measures.
func RestoreClusterType() runner.StepType {
	return runner.NewStepType("etcd-restore-cluster", "Restore every member from one snapshot (latest, newest-revision, a file or a dir) as a new cluster (lab only)",
		func() *RestoreClusterConfig { return &RestoreClusterConfig{From: FromLatest} },
		func(c *RestoreClusterConfig, env *runner.Env) (runner.Step, error) {
			lab, err := etcdenv.LabFrom(env, "etcd-restore-cluster")
			if err != nil {
				return nil, err
			}
			return &restoreCluster{from: c.From, lab: lab, env: env}, nil
		}, runner.AsRestorePoint())
}

type restoreCluster struct {
	from string
	lab  *etcdlab.Lab
	env  *runner.Env
}

// RestorePoint is what a restore restored. Point is the instant up to which the restored data is
// complete: the snapshot's TakenAt, when its member cut the data. For a survivor's snapshot that
// is after quorum was lost, and the data is only as complete as what the survivor had applied
// by then; the writes it lacks are what the data probe counts as lost.
type RestorePoint struct {
	Source   string // "periodic backup", "saved snapshot", "survivor m3", or "file"
	Path     string
	Revision int64 // 0 if the file's revision could not be read (from: latest or a file)
	Point    time.Time
}

// restoreNotePrefix starts the note; tests parse it and people read it: the snapshot's base
// name comes right after.
const restoreNotePrefix = "restoring every member from snapshot "

// resolve finds the snapshot `from` means when the step runs, so "latest" means the newest
// snapshot then. It also returns the candidates newest-revision compared, for the note.
func (s *restoreCluster) resolve(ctx context.Context) (RestorePoint, string, error) {
	switch s.from {
	case FromNewestRevision:
		return s.newestRevision(ctx)
	case FromLatest:
		p, err := s.newestIn(ctx, s.lab.SnapshotDir())
		return p, "", err
	}
	fi, err := os.Stat(s.from)
	if err != nil {
		return RestorePoint{}, "", fmt.Errorf("snapshot %s: %w", s.from, err)
	}
	if fi.IsDir() {
		p, err := s.newestIn(ctx, s.from)
		return p, "", err
	}
	path, err := filepath.Abs(s.from)
	if err != nil {
		return RestorePoint{}, "", fmt.Errorf("snapshot %s: %w", s.from, err)
	}
	// A file named by hand carries no time drill can trust; its modification time is the best
	// bound on when its data was cut.
	p := RestorePoint{Source: "file", Path: path, Point: fi.ModTime().UTC()}
	p.Revision = s.revision(ctx, path)
	return p, "", nil
}

// newestIn is the restore from backup: the newest snapshot file in dir, by time.
func (s *restoreCluster) newestIn(ctx context.Context, dir string) (RestorePoint, error) {
	latest, err := etcdlab.LatestSnapshot(dir)
	if err != nil {
		return RestorePoint{}, err
	}
	p := RestorePoint{Source: kindSource(latest.Kind), Path: latest.Path, Point: latest.TakenAt}
	p.Revision = s.revision(ctx, latest.Path)
	return p, nil
}

// revision reads a snapshot's revision for the note only: a restore from a file etcdutl can
// read must not fail because drill could not read its revision.
func (s *restoreCluster) revision(ctx context.Context, path string) int64 {
	rev, err := etcdlab.SnapshotRevision(ctx, path)
	if err != nil {
		s.env.Log.Warn("etcd snapshot revision unknown", "path", path, "err", err)
		return 0
	}
	return rev
}

func kindSource(kind string) string {
	switch kind {
	case etcdlab.KindPeriodic:
		return "periodic backup"
	case etcdlab.KindSaved:
		return "saved snapshot"
	default:
		return kind + " snapshot"
	}
}

// newestRevision snapshots every member still running (the Snapshot RPC needs no quorum),
// reads the revision of those snapshots and of every snapshot in the lab's snapshot dir, and
// returns the highest. Ties go to the later snapshot, whose time bounds the same data more
// tightly. A survivor that cannot be snapshotted is skipped (logged), as an operator would skip
// a member that does not answer; with no candidate at all it fails.
func (s *restoreCluster) newestRevision(ctx context.Context) (RestorePoint, string, error) {
	var cands []RestorePoint
	var errs []error
	for _, name := range s.lab.Names() {
		if !s.lab.Running(name) {
			continue
		}
		info, err := s.lab.SnapshotMember(ctx, name, "", etcdlab.KindSurvivor)
		if err != nil {
			s.env.Log.Warn("etcd survivor not snapshotted", "member", name, "err", err)
			errs = append(errs, err)
			continue
		}
		cands = append(cands, RestorePoint{Source: "survivor " + name, Path: info.Path, Point: info.TakenAt})
	}
	backups, err := etcdlab.ListSnapshots(s.lab.SnapshotDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return RestorePoint{}, "", err
	}
	for _, b := range backups {
		if b.Kind == etcdlab.KindSurvivor {
			continue // this restore's are in already; an earlier restore's hold a past cluster
		}
		cands = append(cands, RestorePoint{Source: kindSource(b.Kind), Path: b.Path, Point: b.TakenAt})
	}
	var best RestorePoint
	var seen []string
	for i := range cands {
		c := &cands[i]
		rev, err := etcdlab.SnapshotRevision(ctx, c.Path)
		if err != nil {
			// An unreadable file is no candidate: restoring from it would fail.
			errs = append(errs, err)
			continue
		}
		c.Revision = rev
		seen = append(seen, fmt.Sprintf("%s rev %d", c.Source, rev))
		if best.Path == "" || rev > best.Revision || rev == best.Revision && c.Point.After(best.Point) {
			best = *c
		}
	}
	if best.Path == "" {
		return RestorePoint{}, "", fmt.Errorf("newest revision: no survivor could be snapshotted and no snapshot in %s could be read: %w", s.lab.SnapshotDir(), errors.Join(errs...))
	}
	return best, "newest revision among " + strings.Join(seen, ", "), nil
}

// note records what the restore is about to restore: a note on the timeline (the evidence the
// measured RPO is judged against) with the snapshot, its source and revision, and how its point
// relates to t0. It is written before the restore so that a failed restore still shows what it
// tried.
func (s *restoreCluster) note(p RestorePoint, candidates string) {
	msg := fmt.Sprintf("%s%s (%s, revision %d) taken %s", restoreNotePrefix, filepath.Base(p.Path), p.Source, p.Revision, p.Point.UTC().Format(time.RFC3339Nano))
	if t0, ok := s.env.T0(); ok {
		if d := t0.Sub(p.Point); d >= 0 {
			msg += fmt.Sprintf(" (%v before t0)", d.Round(time.Millisecond))
		} else {
			msg += fmt.Sprintf(" (%v after t0)", (-d).Round(time.Millisecond))
		}
	}
	if candidates != "" {
		msg += "; " + candidates
	}
	s.env.Note("%s", msg)
}

func (s *restoreCluster) Run(ctx context.Context) error {
	p, candidates, err := s.resolve(ctx)
	if err != nil {
		return fmt.Errorf("restore cluster: %w", err)
	}
	s.note(p, candidates)
	if err := s.lab.Restore(ctx, p.Path); err != nil {
		return err
	}
	s.restored(p)
	return nil
}

// restored is the one place a successful restore's point is known: it feeds the engine's
// restore-point RPO (t0 − recovery point) for drills without a data probe.
func (s *restoreCluster) restored(p RestorePoint) {
	s.env.Log.Info("etcd cluster restored", "point", p.Point, "source", p.Source, "revision", p.Revision, "snapshot", p.Path)
	s.env.RecoveryPoint(p.Point, fmt.Sprintf("etcd snapshot %s (%s, revision %d)", filepath.Base(p.Path), p.Source, p.Revision))
}
