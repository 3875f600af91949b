package memory

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// Instances starting at once on one database all get the one secret that
// was stored first, and it stays the same for later asks.
func TestSecretIsSharedByInstances(t *testing.T) {
	url := pgtest.NewDatabase(t)
	stores := []*Store{openStore(t, Options{DatabaseURL: url}), openStore(t, Options{DatabaseURL: url}), openStore(t, Options{DatabaseURL: url})}
	got := make([][]byte, len(stores))
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.Secret(context.Background(), "idempotency")
		}()
	}
	wg.Wait()
	for i := range stores {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if len(got[i]) != secretSize || !bytes.Equal(got[i], got[0]) {
			t.Errorf("instance %d got a %d-byte secret %x; want the %d bytes of instance 0's %x", i, len(got[i]), got[i], secretSize, got[0])
		}
	}
	again, err := stores[1].Secret(context.Background(), "idempotency")
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Errorf("asked again: %x, %v; want %x", again, err, got[0])
	}
	other, err := stores[0].Secret(context.Background(), "other")
	if err != nil || bytes.Equal(other, got[0]) {
		t.Errorf("another name's secret = %x, %v; want a different one", other, err)
	}
}
