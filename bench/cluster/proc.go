package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat and
// /proc/stat: 100 on every Linux architecture Go supports
// (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// procStat is what the tool reads of /proc/<pid>/stat.
type procStat struct {
	ppid                   int
	utime, stime           int64 // this process, in ticks
	cutime, cstime         int64 // its children that it has waited for
	ownCPU, withReapedKids time.Duration
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) may hold spaces: count from after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14–17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var n [5]int64
	for j, k := range []int{1, 11, 12, 13, 14} {
		if n[j], err = strconv.ParseInt(f[k], 10, 64); err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat field %d: %w", pid, k+3, err)
		}
	}
	st := procStat{ppid: int(n[0]), utime: n[1], stime: n[2], cutime: n[3], cstime: n[4]}
	st.ownCPU = ticks(st.utime + st.stime)
	st.withReapedKids = ticks(st.utime + st.stime + st.cutime + st.cstime)
	return st, nil
}

// cpuOf is the user+system CPU process pid has used (0 once it is gone).
func cpuOf(pid int) time.Duration {
	st, err := readProcStat(pid)
	if err != nil {
		return 0
	}
	return st.ownCPU
}

// treeCPU is the CPU of a server that forks a process per connection
// (Postgres): the parent's own and its reaped children's, plus its live
// children's. A child that exits between two readings moves from the
// second sum to the first, so differences stay right.
func treeCPU(parent int) time.Duration {
	st, err := readProcStat(parent)
	if err != nil {
		return 0
	}
	total := st.withReapedKids
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == parent {
			continue
		}
		if c, err := readProcStat(pid); err == nil && c.ppid == parent {
			total += c.ownCPU
		}
	}
	return total
}

// postmasterPID is the pid in a Postgres data directory's postmaster.pid.
func postmasterPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// selfCPU is this process's CPU: the clients and the fake model.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy is the CPU time every core of the machine has spent not
// idle (the first line of /proc/stat), whoever used it.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3, 4: // idle, iowait
		case 8, 9: // guest, guest_nice: already counted in user and nice
		default:
			busy += n
		}
	}
	return ticks(busy)
}

// cores is the number of CPUs this process may run on.
func cores() int { return runtime.NumCPU() }

// loadAverage is /proc/loadavg's first three figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
