package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mastra-server/mastra-server/bench/internal/procfs"
)

// cpuOf is the user+system CPU process pid has used (0 once it is gone).
func cpuOf(pid int) time.Duration {
	cpu, _ := procfs.CPU(pid)
	return cpu
}

// treeCPU is the CPU of a server that forks a process per connection
// (Postgres): the parent's own and its reaped children's, plus its live
// children's. A child that exits between two readings moves from the
// second sum to the first, so differences stay right.
func treeCPU(parent int) time.Duration {
	st, err := procfs.ReadStat(parent)
	if err != nil {
		return 0
	}
	total := st.WithReapedChildren
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == parent {
			continue
		}
		if c, err := procfs.ReadStat(pid); err == nil && c.PPID == parent {
			total += c.OwnCPU
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
	return procfs.Ticks(busy)
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
