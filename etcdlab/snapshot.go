package etcdlab

import (
	"context"
	"encoding/binary"
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

	bolt "go.etcd.io/bbolt"
)

// Snapshot file kinds: periodic ones are pruned to Options.SnapshotKeep, the others are kept.
// Survivor snapshots are the ones a restore takes from members still alive after quorum loss to
// compare their data with the backups (etcd-restore-cluster from: newest-revision).
const (
	KindPeriodic = "periodic"
	KindSaved    = "saved"
	KindSurvivor = "survivor"
)

const snapTimeFormat = "20060102T150405.000000000Z"

// SnapshotInfo describes one snapshot file.
type SnapshotInfo struct {
	Path string
	Kind string
	// TakenAt is when the member had begun sending the snapshot (UTC, from the file name). The
	// member cuts its data before it sends the first byte, so a snapshot taken before an instant
	// holds nothing written after it. The time it was requested would not do: on a busy machine
	// the member may cut its data hundreds of milliseconds after the request.
	TakenAt time.Time
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

// SaveSnapshot streams a snapshot from the single member at endpoint into dir and returns it,
// named by kind and by the time (read from now; nil: time.Now) at which the member had begun
// sending it. It is written to a temporary file renamed when complete, so a reader never sees a
// partial snapshot. The Snapshot RPC is served from the member's own backend and needs no quorum.
// The file ends with etcd's SHA-256 trailer, which `etcdutl snapshot restore` verifies.
func SaveSnapshot(ctx context.Context, endpoint, dir, kind string, now func() time.Time) (_ SnapshotInfo, err error) {
	if now == nil {
		now = time.Now
	}
	c, err := NewClient([]string{endpoint})
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer c.Close()
	// The snapshot stream waits for its connection until ctx ends: make sure first that the
	// member answers at all, so a dead or frozen one is skipped in a second, not at the drill's
	// timeout.
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	_, err = Status(sctx, c, endpoint)
	cancel()
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot from %s: %w", endpoint, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot: %w", err)
	}
	f, err := os.CreateTemp(dir, kind+"-*.db.part")
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// SnapshotWithVersion returns once the first message has arrived, which the member sends
	// only after it has cut its data: the time read now bounds the snapshot's contents.
	resp, err := c.SnapshotWithVersion(ctx)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot from %s: %w", endpoint, err)
	}
	taken := now()
	rc := resp.Snapshot
	defer rc.Close()
	n, err := io.Copy(f, rc)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot from %s: %w", endpoint, err)
	}
	if n == 0 {
		return SnapshotInfo{}, fmt.Errorf("save snapshot from %s: empty snapshot", endpoint)
	}
	if err := f.Sync(); err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot: %w", err)
	}
	info := SnapshotInfo{Path: filepath.Join(dir, SnapshotName(kind, taken)), Kind: kind, TakenAt: taken.UTC()}
	if err := os.Rename(f.Name(), info.Path); err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot: %w", err)
	}
	return info, nil
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
		info, err := SaveSnapshot(ctx, m.ClientURL, dir, KindSaved, l.now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			continue
		}
		return info.Path, nil
	}
	if len(errs) == 0 {
		return "", errors.New("save snapshot: no member is running")
	}
	return "", fmt.Errorf("save snapshot: no member could serve one: %w", errors.Join(errs...))
}

// SnapshotMember saves a snapshot from the named member (which must be running) into dir
// ("" = the lab's snapshot dir), named by kind. It works without quorum: it is how a restore
// reads what a survivor holds.
func (l *Lab) SnapshotMember(ctx context.Context, name, dir, kind string) (SnapshotInfo, error) {
	if dir == "" {
		dir = l.SnapshotDir()
	}
	m, ok := l.Member(name)
	if !ok {
		return SnapshotInfo{}, fmt.Errorf("snapshot member: no lab member %q", name)
	}
	if st := l.ProcessState(name); st != ProcRunning {
		return SnapshotInfo{}, fmt.Errorf("snapshot member %s: process is %v", name, st)
	}
	info, err := SaveSnapshot(ctx, m.ClientURL, dir, kind, l.now)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot member %s: %w", name, err)
	}
	return info, nil
}

// SnapshotRevision returns the store revision a snapshot file holds, as `etcdutl snapshot
// status` reports it: the highest revision in its key bucket, or the scheduled compaction
// revision if that is higher. Revisions order snapshots of one cluster by the data they hold,
// which their times do not when they come from different members. A snapshot file is a bbolt
// database followed by a SHA-256 trailer; bbolt reads it in place. ctx is checked first only:
// the read is local and short.
func SnapshotRevision(ctx context.Context, path string) (rev int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("snapshot revision %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0, fmt.Errorf("snapshot revision %s: %w", path, err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		// Bucket and key names are etcd's (server/storage/schema).
		kb := tx.Bucket([]byte("key"))
		if kb == nil {
			return errors.New("no key bucket: not an etcd snapshot")
		}
		if k, _ := kb.Cursor().Last(); len(k) >= 8 {
			// Keys are revisions: 8 bytes main revision (big endian), '_', 8 bytes sub revision.
			rev = int64(binary.BigEndian.Uint64(k[:8]))
		}
		if mb := tx.Bucket([]byte("meta")); mb != nil {
			if v := mb.Get([]byte("scheduledCompactRev")); len(v) >= 8 {
				rev = max(rev, int64(binary.BigEndian.Uint64(v[:8])))
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("snapshot revision %s: %w", path, err)
	}
	return rev, nil
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

// firstSnapshotRetry spaces the attempts at the first periodic snapshot.
const firstSnapshotRetry = 100 * time.Millisecond

func newSnapshotter(l *Lab, every time.Duration, keep int) *snapshotter {
	return &snapshotter{lab: l, every: every, keep: keep, quit: make(chan struct{})}
}

// first takes the first periodic snapshot, retrying until one succeeds or ctx ends. The backup
// history starts with the lab, so a drill that injects its fault at any time after Up has a
// snapshot from before t0; left to the first tick, one period after Up, a busy machine could
// see that tick's snapshot skipped and the next one lost to the fault.
func (s *snapshotter) first(ctx context.Context) error {
	for {
		info, err := s.take(ctx)
		if err == nil {
			s.lab.log.Debug("periodic snapshot", "path", info.Path)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("first periodic snapshot: %w (last: %v)", ctx.Err(), err)
		case <-time.After(firstSnapshotRetry):
		}
	}
}

func (s *snapshotter) start() { s.wg.Go(s.loop) }

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
		info, err := s.take(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.lab.log.Info("periodic snapshot skipped", "err", err)
			}
			continue
		}
		s.lab.log.Debug("periodic snapshot", "path", info.Path)
		s.prune()
	}
}

func (s *snapshotter) take(ctx context.Context) (SnapshotInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, max(s.every, 5*time.Second))
	defer cancel()
	c, err := s.lab.Client()
	if err != nil {
		return SnapshotInfo{}, err
	}
	hctx, hcancel := context.WithTimeout(ctx, time.Second)
	_, err = c.Get(hctx, "drill/health")
	hcancel()
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("cluster not healthy: %w", err)
	}
	leader, err := s.lab.Leader(ctx)
	if err != nil {
		return SnapshotInfo{}, err
	}
	m, _ := s.lab.Member(leader)
	return SaveSnapshot(ctx, m.ClientURL, s.lab.SnapshotDir(), KindPeriodic, s.lab.now)
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
