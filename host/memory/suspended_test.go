package memory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestClaimSuspended: one claim wins; a claim whose lease ran out (its
// instance died in the resumed turn) lets the run wait again; another
// resource's run is not found; a run id of another resource cannot be
// overwritten.
func TestClaimSuspended(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		doc := `{"runId":"r1","status":"suspended","agentLoop":{"agentId":"a","threadId":"t1"}}`
		if err := s.SaveSuspended(ctx, SuspendedRun{RunID: "r1", ResourceID: "alice", Snapshot: []byte(doc)}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSuspended(ctx, SuspendedRun{RunID: "r1", ResourceID: "bob", Snapshot: []byte(doc)}); !errors.Is(err, ErrConflict) {
			t.Errorf("bob saving alice's run id: %v; want ErrConflict", err)
		}
		if _, err := s.ClaimSuspended(ctx, "r1", "bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob's claim: %v; want ErrNotFound", err)
		}
		got, err := s.ClaimSuspended(ctx, "r1", "alice")
		if err != nil || !strings.Contains(string(got.Snapshot), `"status":"suspended"`) || got.ResourceID != "alice" {
			t.Fatalf("claim = %s, %v", got.Snapshot, err)
		}
		if _, err := s.ClaimSuspended(ctx, "r1", ""); !errors.Is(err, ErrRunClaimed) {
			t.Errorf("second claim: %v; want ErrRunClaimed", err)
		}
		if l, _ := s.ListSuspended(ctx, SuspendedFilter{AgentID: "a", Limit: 10}); len(l) != 0 {
			t.Errorf("a claimed run is listed: %d", len(l))
		}
		// The claiming instance dies: after the lease the run waits again.
		old := s.snapshotTime(time.Now().UTC().Add(-ClaimLease - time.Minute))
		if _, err := s.db.ExecContext(ctx, `UPDATE mastra_workflow_snapshot SET "updatedAt" = ? WHERE run_id = 'r1'`, old); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ListSuspended(ctx, SuspendedFilter{AgentID: "a", ResourceID: "alice", ThreadID: "t1", Limit: 10}); len(l) != 1 {
			t.Errorf("a run whose claim ran out is not listed")
		}
		if n, _ := s.CountSuspended(ctx); n["a"] != 1 {
			t.Errorf("CountSuspended = %v", n)
		}
		if _, err := s.ClaimSuspended(ctx, "r1", "alice"); err != nil {
			t.Errorf("claim after the lease: %v", err)
		}
		if err := s.EndSuspended(ctx, "r1", []byte(`{"runId":"r1","status":"success"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimSuspended(ctx, "r1", "alice"); !errors.Is(err, ErrRunClaimed) {
			t.Errorf("claim of an ended run: %v; want ErrRunClaimed", err)
		}
	})
}
