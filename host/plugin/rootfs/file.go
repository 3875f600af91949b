package rootfs

import (
	"io/fs"
	"os"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// file is an open file or directory of an FS. Reads, writes, seeks and
// directory listings are wazero's own adapter over the *os.File; what that
// adapter leaves out for a plain fs.File (truncate, sync, times, append) is
// done here on the same *os.File. The file was opened through the os.Root,
// so listing a directory stats its entries relative to it (Go uses fstatat
// for files opened in a Root), never by a path.
type file struct {
	experimentalsys.File
	osf    *os.File
	root   *os.Root
	path   string // relative to the root, for Utimens
	append bool
}

// wrap hands osf, opened at p through root, to wazero's fs.FS adapter.
func wrap(root *os.Root, osf *os.File, p string, flag experimentalsys.Oflag, perm fs.FileMode) (*file, experimentalsys.Errno) {
	adapted, errno := (&sysfs.AdaptFS{FS: &handoff{root: root, f: osf}}).OpenFile(p, flag, perm)
	if errno != 0 {
		osf.Close()
		return nil, errno
	}
	return &file{File: adapted, osf: osf, root: root, path: p, append: flag&experimentalsys.O_APPEND != 0}, 0
}

// handoff is the fs.FS the adapter opens the file from: the first Open
// returns the file already opened; a later one (the adapter re-opens a
// directory to list it again from the start) opens the name through the
// root again.
type handoff struct {
	root *os.Root
	f    *os.File
}

func (h *handoff) Open(name string) (fs.File, error) {
	if f := h.f; f != nil {
		h.f = nil
		return f, nil
	}
	return h.root.Open(name)
}

// IsAppend implements experimentalsys.File.
func (f *file) IsAppend() bool { return f.append }

// SetAppend implements experimentalsys.File. Changing the mode of an open
// file needs fcntl, which os.File does not offer portably; a guest opens
// the file with the append flag instead.
func (f *file) SetAppend(enable bool) experimentalsys.Errno {
	if enable == f.append {
		return 0
	}
	return experimentalsys.ENOSYS
}

// Truncate implements experimentalsys.File.
func (f *file) Truncate(size int64) experimentalsys.Errno {
	if size < 0 {
		return experimentalsys.EINVAL
	}
	return errnoOf(f.osf.Truncate(size))
}

// Sync implements experimentalsys.File.
func (f *file) Sync() experimentalsys.Errno { return errnoOf(f.osf.Sync()) }

// Datasync implements experimentalsys.File.
func (f *file) Datasync() experimentalsys.Errno { return errnoOf(f.osf.Sync()) }

// Utimens implements experimentalsys.File, by the path it was opened with
// (still resolved inside the root).
func (f *file) Utimens(atim, mtim int64) experimentalsys.Errno {
	return errnoOf(f.root.Chtimes(f.path, utime(atim), utime(mtim)))
}
