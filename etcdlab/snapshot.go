package etcdlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Snapshot file kinds: periodic ones are pruned to Options.SnapshotKeep, saved ones are kept.
const (
	KindPeriodic = "periodic"
	KindSaved    = "saved"
)

const snapTimeFormat = "20060102T150405.000000000Z"

// SnapshotInfo describes one snapshot file.
type SnapshotInfo struct {
	Path    string
	Kind    string
	TakenAt time.Time // when the snapshot was requested (UTC, from the file name)
}

// SnapshotName is the file name a snapshot taken at t gets; names sort by time.
func SnapshotName(kind string, t time.Time) string {
	return fmt.Sprintf("%s-%s.db", kind, t.UTC().Format(snapTimeFormat))
}

// ListSnapshots returns the snapshot files in dir, oldest first. Files not named by
// SnapshotName are ignored.
func ListSnapshots(dir string) ([]SnapshotInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []SnapshotInfo
	for _, e := range entries {
		kind, stamp, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".db"), "-")
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".db") || !ok {
			continue
		}
		t, err := time.Parse(snapTimeFormat, stamp)
		if err != nil {
			continue
		}
		out = append(out, SnapshotInfo{Path: filepath.Join(dir, e.Name()), Kind: kind, TakenAt: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TakenAt.Before(out[j].TakenAt) })
	return out, nil
}

// LatestSnapshot returns the newest snapshot in dir.
func LatestSnapshot(dir string) (SnapshotInfo, error) {
	all, err := ListSnapshots(dir)
	if err != nil {
		return SnapshotInfo{}, err
	}
	if len(all) == 0 {
		return SnapshotInfo{}, fmt.Errorf("no snapshot in %s", dir)
	}
	return all[len(all)-1], nil
}

// SaveSnapshot streams a snapshot from the single member at endpoint into path (via a temporary
// file, renamed when complete, so a reader never sees a partial snapshot). The Snapshot RPC is
// served from the member's own backend and needs no quorum. The file ends with etcd's SHA-256
// trailer, which `etcdutl snapshot restore` verifies.
func SaveSnapshot(ctx context.Context, endpoint, path string) (err error) {
	c, err := NewClient([]string{endpoint})
	if err != nil {
		return err
	}
	defer c.Close()
	// The snapshot stream waits for its connection until ctx ends: make sure first that the
	// member answers at all, so a dead or frozen one is skipped in a second, not at the drill's
	// timeout.
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	_, err = Status(sctx, c, endpoint)
	cancel()
	if err != nil {
		return fmt.Errorf("save snapshot from %s: %w", endpoint, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	part := path + ".part"
	f, err := os.Create(part)
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(part)
		}
	}()
	rc, err := c.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("save snapshot from %s: %w", endpoint, err)
	}
	defer rc.Close()
	n, err := io.Copy(f, rc)
	if err != nil {
		return fmt.Errorf("save snapshot from %s: %w", endpoint, err)
	}
	if n == 0 {
		return fmt.Errorf("save snapshot from %s: empty snapshot", endpoint)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	if err := os.Rename(part, path); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// SaveSnapshot saves a snapshot from one live member (the first that answers Status) into dir
// ("" = the lab's snapshot dir) and returns its path. It works without quorum.
func (l *Lab) SaveSnapshot(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		dir = l.SnapshotDir()
	}
	var errs []error
	for _, m := range l.Members() {
		if !l.Running(m.Name) {
			continue
		}
		path := filepath.Join(dir, SnapshotName(KindSaved, time.Now()))
		if err := SaveSnapshot(ctx, m.ClientURL, path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			continue
		}
		return path, nil
	}
	if len(errs) == 0 {
		return "", errors.New("save snapshot: no member is running")
	}
	return "", fmt.Errorf("save snapshot: no member could serve one: %w", errors.Join(errs...))
}

// snapshotter takes periodic snapshots the way an operator's backup job does: only from a
// healthy cluster (a linearizable read must succeed first), so after quorum is lost the newest
// snapshot is the last one taken before, and restoring from it loses what came after.
type snapshotter struct {
	lab   *Lab
	every time.Duration
	keep  int
	quit  chan struct{}
	wg    sync.WaitGroup
}

func startSnapshotter(l *Lab, every time.Duration, keep int) *snapshotter {
	s := &snapshotter{lab: l, every: every, keep: keep, quit: make(chan struct{})}
	s.wg.Go(s.loop)
	return s
}

func (s *snapshotter) stop() {
	close(s.quit)
	s.wg.Wait()
}

func (s *snapshotter) loop() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.quit
		cancel()
	}()
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		path, err := s.take(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.lab.log.Info("periodic snapshot skipped", "err", err)
			}
			continue
		}
		s.lab.log.Debug("periodic snapshot", "path", path)
		s.prune()
	}
}

func (s *snapshotter) take(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, max(s.every, 5*time.Second))
	defer cancel()
	c, err := s.lab.Client()
	if err != nil {
		return "", err
	}
	hctx, hcancel := context.WithTimeout(ctx, time.Second)
	_, err = c.Get(hctx, "drill/health")
	hcancel()
	if err != nil {
		return "", fmt.Errorf("cluster not healthy: %w", err)
	}
	leader, err := s.lab.Leader(ctx)
	if err != nil {
		return "", err
	}
	m, _ := s.lab.Member(leader)
	taken := time.Now()
	path := filepath.Join(s.lab.SnapshotDir(), SnapshotName(KindPeriodic, taken))
	if err := SaveSnapshot(ctx, m.ClientURL, path); err != nil {
		return "", err
	}
	return path, nil
}

func (s *snapshotter) prune() {
	all, err := ListSnapshots(s.lab.SnapshotDir())
	if err != nil {
		return
	}
	var periodic []SnapshotInfo
	for _, si := range all {
		if si.Kind == KindPeriodic {
			periodic = append(periodic, si)
		}
	}
	for len(periodic) > s.keep {
		if err := os.Remove(periodic[0].Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.lab.log.Warn("prune snapshot", "err", err)
		}
		periodic = periodic[1:]
	}
}
