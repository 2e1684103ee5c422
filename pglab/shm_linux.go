package pglab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// releaseSharedMemory removes the System V shared memory segment a postmaster killed with
// SIGKILL leaves behind (a normal shutdown removes it; a restart from the same data dir would
// too). Its key and id are on line 7 of postmaster.pid; the segment is removed only if it still
// has that key and nothing attached, so an id reused by another program is never touched.
func releaseSharedMemory(dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release shared memory: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return nil
	}
	f := strings.Fields(lines[6])
	if len(f) != 2 {
		return nil
	}
	key, err1 := strconv.ParseInt(f[0], 10, 64)
	id, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return nil
	}
	var desc unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &desc); err != nil {
		return nil // already gone
	}
	if int64(desc.Perm.Key) != key || desc.Nattch != 0 {
		return nil
	}
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
		return fmt.Errorf("release shared memory segment %d of %s: %w", id, dataDir, err)
	}
	return nil
}
