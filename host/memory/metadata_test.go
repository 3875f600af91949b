package memory

import (
	"context"
	"reflect"
	"testing"
)

// Thread metadata must come back exactly as it was stored, including text
// that looks like a JSON escape (a backslash then "u0000"), which Bun's
// JSON inlining used to rewrite into a NUL.
func TestMetadataRoundTripsExactly(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		meta := map[string]any{
			`a\u0000b`: `c\u0000d`,
			"quote":    `it's "quoted" \\ and \n`,
			"nested":   map[string]any{"list": []any{"x", 1.5, true, nil}, "emoji": "🙂 é"},
		}
		if _, err := s.CreateThread(ctx, Thread{ID: "m1", ResourceID: "alice", Metadata: meta}); err != nil {
			t.Fatalf("CreateThread: %v", err)
		}
		got, err := s.Thread(ctx, "alice", "m1")
		if err != nil {
			t.Fatalf("Thread: %v", err)
		}
		if !reflect.DeepEqual(got.Metadata, meta) {
			t.Errorf("created metadata = %#v; want %#v", got.Metadata, meta)
		}
		title := "still updatable"
		upd, err := s.UpdateThread(ctx, "alice", "m1", ThreadUpdate{Title: &title})
		if err != nil {
			t.Fatalf("UpdateThread: %v", err)
		}
		if !reflect.DeepEqual(upd.Metadata, meta) {
			t.Errorf("updated metadata = %#v; want %#v", upd.Metadata, meta)
		}
		got, err = s.Thread(ctx, "alice", "m1")
		if err != nil || !reflect.DeepEqual(got.Metadata, meta) {
			t.Errorf("metadata after update = %#v, %v; want %#v", got.Metadata, err, meta)
		}
	})
}
