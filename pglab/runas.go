package pglab

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// ServerUser is the system account the servers run as when drill runs as root: PostgreSQL
// refuses to run as root, and Debian's postgresql package creates this user.
const ServerUser = "postgres"

// RunAs is the account every server command runs as; the zero value means drill's own.
type RunAs struct {
	User string `json:"user,omitempty"`
	UID  uint32 `json:"uid,omitempty"`
	GID  uint32 `json:"gid,omitempty"`
}

func (r RunAs) set() bool { return r.User != "" }

// serverAccount returns who runs the servers: drill itself, or ServerUser when drill is root.
func serverAccount() (RunAs, error) {
	if os.Geteuid() != 0 {
		return RunAs{}, nil
	}
	u, err := user.Lookup(ServerUser)
	if err != nil {
		return RunAs{}, fmt.Errorf("PostgreSQL refuses to run as root and drill runs as root, so the lab runs its servers as the %q user, which does not exist (%v): install the postgresql package (it creates it) or run drill as a non-root user", ServerUser, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return RunAs{}, fmt.Errorf("user %s has a non-numeric uid %q or gid %q", ServerUser, u.Uid, u.Gid)
	}
	return RunAs{User: ServerUser, UID: uint32(uid), GID: uint32(gid)}, nil
}

// credential is nil (run as drill) or the server account, with no supplementary groups: root's
// groups must not leak into the servers.
func (r RunAs) credential() *syscall.Credential {
	if !r.set() {
		return nil
	}
	return &syscall.Credential{Uid: r.UID, Gid: r.GID, Groups: []uint32{}}
}

// chown hands paths drill created to the server account, so servers can write data dirs and
// sockets there.
func (r RunAs) chown(paths ...string) error {
	if !r.set() {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, int(r.UID), int(r.GID)); err != nil {
			return fmt.Errorf("hand %s to user %s: %w", p, r.User, err)
		}
	}
	return nil
}

// checkReachable fails when the server account cannot traverse every parent of dir: a lab under
// a root-only directory (a test's 0700 temp dir) would otherwise fail inside initdb with a
// confusing "permission denied".
func (r RunAs) checkReachable(dir string) error {
	if !r.set() {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("lab dir parent: %w", err)
		}
		if !r.canSearch(fi) {
			return fmt.Errorf("lab dir %s: the servers run as user %s (drill runs as root) and cannot reach it: %s is mode %v; use a directory under %s or make its parents traversable", dir, r.User, p, fi.Mode().Perm(), os.TempDir())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (r RunAs) canSearch(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	perm := fi.Mode().Perm()
	if !ok {
		return perm&0o001 != 0
	}
	switch {
	case st.Uid == r.UID:
		return perm&0o100 != 0
	case st.Gid == r.GID:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
