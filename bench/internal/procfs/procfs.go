// Package procfs reads what the benchmark programs (bench/load,
// bench/cluster, bench/soak) measure of a process from Linux's /proc: its CPU
// time, parent and memory. One parser, so the three report the same figures.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat and
// /proc/stat: 100 on every Linux architecture Go supports
// (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// Ticks turns a count of clock ticks into a duration.
func Ticks(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// Stat is what the programs read of /proc/<pid>/stat.
type Stat struct {
	PPID int
	// OwnCPU is the user+system CPU the process itself has used;
	// SystemCPU the part of it spent in the kernel (system calls, and the
	// network stack's work they do).
	OwnCPU, SystemCPU time.Duration
	// WithReapedChildren adds the CPU of the children it has waited for.
	WithReapedChildren time.Duration
}

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	// The command name (field 2) may hold spaces: count from after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14–17.
	if len(f) < 15 {
		return Stat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var n [5]int64
	for j, k := range []int{1, 11, 12, 13, 14} {
		if n[j], err = strconv.ParseInt(f[k], 10, 64); err != nil {
			return Stat{}, fmt.Errorf("/proc/%d/stat field %d: %w", pid, k+3, err)
		}
	}
	return Stat{
		PPID:               int(n[0]),
		OwnCPU:             Ticks(n[1] + n[2]),
		SystemCPU:          Ticks(n[2]),
		WithReapedChildren: Ticks(n[1] + n[2] + n[3] + n[4]),
	}, nil
}

// CPU is the user+system CPU process pid has used.
func CPU(pid int) (time.Duration, error) {
	st, err := ReadStat(pid)
	return st.OwnCPU, err
}

// Status reads a field of /proc/<pid>/status: a "kB" one (VmRSS, VmHWM) in
// bytes, a plain number (Threads) as it is.
func Status(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
			}
			if len(f) > 1 && f[1] == "kB" {
				n *= 1024
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// IO is what the programs read of /proc/<pid>/io: how many read-like
// (read, recvfrom, …) and write-like (write, sendto, …) system calls the
// process has made. A count, so it tells a change apart where CPU times
// are noise.
type IO struct {
	ReadCalls, WriteCalls int64
}

// ReadIO reads /proc/<pid>/io (the caller must be allowed to trace pid:
// the same user, as for a child).
func ReadIO(pid int) (IO, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return IO{}, err
	}
	var io IO
	var seen int
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		var dst *int64
		switch name {
		case "syscr":
			dst = &io.ReadCalls
		case "syscw":
			dst = &io.WriteCalls
		}
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return IO{}, fmt.Errorf("/proc/%d/io %s: %w", pid, name, err)
		}
		*dst = n
		seen++
	}
	if seen != 2 {
		return IO{}, fmt.Errorf("no syscr/syscw in /proc/%d/io", pid)
	}
	return io, nil
}
