package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mastra-server/mastra-server/bench/internal/procfs"
)

func rss(pid int) int64 { n, _ := procfs.Status(pid, "VmRSS"); return n }
func hwm(pid int) int64 { n, _ := procfs.Status(pid, "VmHWM"); return n }

// openFDs counts a process's open file descriptors.
func openFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(ents)
}

// fdLimit is a process's soft "Max open files".
func fdLimit(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(line)
			if len(f) >= 5 {
				return f[3] + " (hard " + f[4] + ")"
			}
		}
	}
	return "?"
}

// raiseFDLimit raises this process's soft RLIMIT_NOFILE to the hard limit
// (at least want is needed). Children started afterwards inherit it.
func raiseFDLimit(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	if lim.Cur < want {
		return lim.Cur, fmt.Errorf("file-descriptor limit %d < %d needed: raise the hard limit (ulimit -Hn, or LimitNOFILE= in systemd)", lim.Cur, want)
	}
	return lim.Cur, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// treeCPU is the user+system CPU of pid, of the children it has reaped and
// of its live descendants: the whole of a server that may fork helpers
// (Node's may), counted the same way for both sides of the peer phase.
func treeCPU(pid int) (time.Duration, error) {
	st, err := procfs.ReadStat(pid)
	if err != nil {
		return 0, err
	}
	total := st.WithReapedChildren
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if cs, err := procfs.ReadStat(child); err == nil && cs.PPID == pid {
			if c, err := treeCPU(child); err == nil {
				total += c
			}
		}
	}
	return total, nil
}
