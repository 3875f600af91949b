package plugin

import (
	"context"
	"flag"
	"sync"
	"testing"
	"time"
)

var sharedModuleLoops = flag.Int("shared-module-loops", 300, "host starts in TestSameModuleTwiceWithDiskCache")

// Two plugins on the same module bytes with different settings, loaded in
// parallel from a warm disk cache: wazero published the module before its
// entry preambles were compiled, and the other load panicked on 1–2 % of
// starts (finding F3). Each start is a new Host, as a server start is.
func TestSameModuleTwiceWithDiskCache(t *testing.T) {
	dir := t.TempDir()
	mod := fixture(t, "hello")
	for i := range *sharedModuleLoops {
		h, err := New(context.Background(), Config{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		ps := make([]*Plugin, 2)
		errs := make([]error, 2)
		for j := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ps[j], errs[j] = h.Load(context.Background(), limited(Spec{Name: "r" + string(rune('1'+j)), Kind: Route,
					Module: mod, Timeout: time.Duration(2+j) * time.Second}))
			}()
		}
		wg.Wait()
		for j, p := range ps {
			if errs[j] != nil {
				t.Fatalf("start %d: Load: %v", i, errs[j])
			}
			wantResponse(t, do(p.Handler(), "GET", "/", nil), 200, "v2")
		}
		if err := h.Close(context.Background()); err != nil {
			t.Fatalf("start %d: Close: %v", i, err)
		}
	}
}
