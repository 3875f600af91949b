// Package rootfs is the filesystem behind a plugin's mounts: a wazero
// experimental/sys.FS confined to one host directory by an os.Root.
//
// wazero's own WithDirMount joins the guest's path to the directory and
// opens it by name, so a symbolic link in the directory (placed there by
// anyone who can write into it) took the guest anywhere on the host. Every
// operation here resolves the path through os.Root instead (openat, one
// component at a time): links are followed only while they stay inside the
// directory; a link that leaves it (absolute, or relative with "..") fails,
// and so does "..". Guests cannot create symbolic links.
package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// FS is one mounted directory. It is safe for concurrent use by many
// instances. Close it when no instance uses it any more.
type FS struct {
	experimentalsys.UnimplementedFS
	root *os.Root
}

var _ experimentalsys.FS = (*FS)(nil)

// Open opens dir as the root of a mount.
func Open(dir string) (*FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &FS{root: r}, nil
}

// Close releases the directory.
func (f *FS) Close() error { return f.root.Close() }

// String names the directory (wazero uses it in messages).
func (f *FS) String() string { return f.root.Name() }

// rel turns wazero's path (relative to the mount, already cleaned, with a
// trailing slash kept) into os.Root's; "" is the mount itself.
func rel(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

// errnoOf maps an error of os.Root to a WASI errno. os.Root refuses a path
// that leaves the directory with an error that is not a system errno; it is
// EPERM, as wazero answers for ".." out of a mount.
func errnoOf(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrExist),
		errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrClosed), errors.Is(err, fs.ErrInvalid):
		return experimentalsys.UnwrapOSError(err)
	}
	return experimentalsys.EPERM
}

// OpenFile implements experimentalsys.FS.
func (f *FS) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	p := rel(path)
	write := flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR) != 0
	if flag&experimentalsys.O_DIRECTORY != 0 && write {
		return nil, experimentalsys.EISDIR
	}
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		// os.Root follows a final link that stays inside; the guest asked
		// not to. A link swapped in after this check is still confined.
		if st, err := f.root.Lstat(p); err == nil && st.Mode()&fs.ModeSymlink != 0 {
			return nil, experimentalsys.ELOOP
		}
	}
	osf, err := f.root.OpenFile(p, osFlag(flag), perm)
	if err != nil {
		return nil, errnoOf(err)
	}
	if flag&experimentalsys.O_DIRECTORY != 0 {
		st, err := osf.Stat()
		if err != nil || !st.IsDir() {
			osf.Close()
			if err != nil {
				return nil, errnoOf(err)
			}
			return nil, experimentalsys.ENOTDIR
		}
	}
	file, errno := wrap(f.root, osf, p, flag, perm)
	if errno != 0 {
		return nil, errno
	}
	return file, 0
}

func osFlag(flag experimentalsys.Oflag) int {
	var o int
	switch {
	case flag&experimentalsys.O_RDWR != 0:
		o = os.O_RDWR
	case flag&experimentalsys.O_WRONLY != 0:
		o = os.O_WRONLY
	default:
		o = os.O_RDONLY
	}
	for _, m := range []struct {
		wasi experimentalsys.Oflag
		os   int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND},
		{experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
		{experimentalsys.O_SYNC | experimentalsys.O_DSYNC | experimentalsys.O_RSYNC, os.O_SYNC},
	} {
		if flag&m.wasi != 0 {
			o |= m.os
		}
	}
	return o
}

// Lstat implements experimentalsys.FS.
func (f *FS) Lstat(path string) (sys.Stat_t, experimentalsys.Errno) {
	info, err := f.root.Lstat(rel(path))
	if err != nil {
		return sys.Stat_t{}, errnoOf(err)
	}
	return sys.NewStat_t(info), 0
}

// Stat implements experimentalsys.FS.
func (f *FS) Stat(path string) (sys.Stat_t, experimentalsys.Errno) {
	info, err := f.root.Stat(rel(path))
	if err != nil {
		return sys.Stat_t{}, errnoOf(err)
	}
	return sys.NewStat_t(info), 0
}

// Mkdir implements experimentalsys.FS.
func (f *FS) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	return errnoOf(f.root.Mkdir(rel(path), perm))
}

// Chmod implements experimentalsys.FS.
func (f *FS) Chmod(path string, perm fs.FileMode) experimentalsys.Errno {
	return errnoOf(f.root.Chmod(rel(path), perm))
}

// Rename implements experimentalsys.FS.
func (f *FS) Rename(from, to string) experimentalsys.Errno {
	return errnoOf(f.root.Rename(rel(from), rel(to)))
}

// Rmdir implements experimentalsys.FS: directories only.
func (f *FS) Rmdir(path string) experimentalsys.Errno {
	p := rel(path)
	st, err := f.root.Lstat(p)
	if err != nil {
		return errnoOf(err)
	}
	if !st.IsDir() {
		return experimentalsys.ENOTDIR
	}
	return errnoOf(f.root.Remove(p))
}

// Unlink implements experimentalsys.FS: anything but a directory.
func (f *FS) Unlink(path string) experimentalsys.Errno {
	p := rel(path)
	st, err := f.root.Lstat(p)
	if err != nil {
		return errnoOf(err)
	}
	if st.IsDir() {
		return experimentalsys.EISDIR
	}
	return errnoOf(f.root.Remove(p))
}

// Link implements experimentalsys.FS: both names resolve inside the root.
func (f *FS) Link(oldPath, newPath string) experimentalsys.Errno {
	return errnoOf(f.root.Link(rel(oldPath), rel(newPath)))
}

// Symlink implements experimentalsys.FS. A link made by a guest could point
// anywhere for whoever else reads the directory without os.Root (the
// server's operator, another program), so guests cannot make one.
func (f *FS) Symlink(string, string) experimentalsys.Errno { return experimentalsys.EPERM }

// Readlink implements experimentalsys.FS.
func (f *FS) Readlink(path string) (string, experimentalsys.Errno) {
	s, err := f.root.Readlink(rel(path))
	if err != nil {
		return "", errnoOf(err)
	}
	return s, 0
}

// Utimens implements experimentalsys.FS.
func (f *FS) Utimens(path string, atim, mtim int64) experimentalsys.Errno {
	return errnoOf(f.root.Chtimes(rel(path), utime(atim), utime(mtim)))
}

// utime turns a WASI time (ns since the epoch, or UTIME_OMIT) into the
// time os.Root.Chtimes takes; the zero time leaves it unchanged.
func utime(ns int64) time.Time {
	if ns == experimentalsys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
