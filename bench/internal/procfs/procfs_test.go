package procfs

import (
	"os"
	"testing"
)

// The test reads its own process, whose figures it can bound.
func TestReadsThisProcess(t *testing.T) {
	pid := os.Getpid()
	// Burn some CPU so the reading cannot be zero by luck of timing.
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i % 7
	}
	_ = x
	st, err := ReadStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() {
		t.Errorf("ppid %d, want %d", st.PPID, os.Getppid())
	}
	if st.OwnCPU <= 0 || st.WithReapedChildren < st.OwnCPU || st.SystemCPU > st.OwnCPU {
		t.Errorf("cpu own %v, with reaped children %v", st.OwnCPU, st.WithReapedChildren)
	}
	rss, err := Status(pid, "VmRSS")
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 { // a Go test binary holds more than a MiB resident
		t.Errorf("VmRSS %d bytes", rss)
	}
	if _, err := Status(pid, "NoSuchField"); err == nil {
		t.Error("want an error for a missing field")
	}
	io0, err := ReadIO(pid)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Read(make([]byte, 64))
	f.Close()
	io1, err := ReadIO(pid)
	if err != nil {
		t.Fatal(err)
	}
	if io1.ReadCalls <= io0.ReadCalls || io1.WriteCalls < io0.WriteCalls {
		t.Errorf("system calls: %+v then %+v; want more reads after a read", io0, io1)
	}
	if _, err := ReadStat(-1); err == nil {
		t.Error("want an error for a missing process")
	}
}
