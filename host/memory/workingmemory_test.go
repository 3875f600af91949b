package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// A resource's working memory lands in mastra_resources."workingMemory" and
// a thread's under metadata.workingMemory, where a Mastra server reads them.
func TestWorkingMemoryWhereMastraKeepsIt(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		res := WorkingMemoryRef{ResourceID: "user-1"}
		if got, err := s.WorkingMemory(ctx, res); err != nil || got != "" {
			t.Fatalf("WorkingMemory before any = %q, %v; want empty", got, err)
		}
		set := func(ref WorkingMemoryRef, text string) {
			t.Helper()
			if _, err := s.UpdateWorkingMemory(ctx, ref, func(string) (string, error) { return text, nil }); err != nil {
				t.Fatalf("UpdateWorkingMemory(%+v): %v", ref, err)
			}
		}
		set(res, "# User\n- **Name**: Ada\n")
		var col string
		if err := s.db.QueryRowContext(ctx, `SELECT "workingMemory" FROM mastra_resources WHERE id = 'user-1'`).Scan(&col); err != nil {
			t.Fatalf("read mastra_resources: %v", err)
		}
		if col != "# User\n- **Name**: Ada\n" {
			t.Errorf("mastra_resources.workingMemory = %q", col)
		}
		set(res, "# User\n- **Name**: Ada Lovelace\n")
		if got, _ := s.WorkingMemory(ctx, res); got != "# User\n- **Name**: Ada Lovelace\n" {
			t.Errorf("WorkingMemory after second update = %q", got)
		}

		if _, err := s.CreateThread(ctx, Thread{ID: "t-1", ResourceID: "user-1", Metadata: map[string]any{"topic": "math"}}); err != nil {
			t.Fatal(err)
		}
		th := WorkingMemoryRef{ResourceID: "user-1", ThreadID: "t-1"}
		set(th, `{"name":"Ada"}`)
		var meta string
		if err := s.db.QueryRowContext(ctx, `SELECT metadata FROM mastra_threads WHERE id = 't-1'`).Scan(&meta); err != nil {
			t.Fatalf("read mastra_threads: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(meta), &m); err != nil {
			t.Fatalf("metadata %q: %v", meta, err)
		}
		if m["workingMemory"] != `{"name":"Ada"}` || m["topic"] != "math" {
			t.Errorf("thread metadata = %v; want workingMemory set and topic kept", m)
		}
		// The resource's working memory is another one.
		if got, _ := s.WorkingMemory(ctx, res); got != "# User\n- **Name**: Ada Lovelace\n" {
			t.Errorf("resource working memory changed by the thread's: %q", got)
		}
	})
}

// Another resource's thread is not found: its working memory is neither
// read nor written.
func TestWorkingMemoryStaysInItsResource(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.CreateThread(ctx, Thread{ID: "t-a", ResourceID: "a"}); err != nil {
			t.Fatal(err)
		}
		a := WorkingMemoryRef{ResourceID: "a", ThreadID: "t-a"}
		if _, err := s.UpdateWorkingMemory(ctx, a, func(string) (string, error) { return "secret of a", nil }); err != nil {
			t.Fatal(err)
		}
		b := WorkingMemoryRef{ResourceID: "b", ThreadID: "t-a"}
		if got, err := s.WorkingMemory(ctx, b); err != nil || got != "" {
			t.Errorf("b reads a's thread working memory: %q, %v", got, err)
		}
		_, err := s.UpdateWorkingMemory(ctx, b, func(string) (string, error) { return "b wrote", nil })
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("b writes a's thread working memory: err = %v; want ErrNotFound", err)
		}
		b.CreateThread = true // creating is no way in either
		if _, err := s.UpdateWorkingMemory(ctx, b, func(string) (string, error) { return "b wrote", nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("b writes a's thread with CreateThread: err = %v; want ErrNotFound", err)
		}
		if got, _ := s.WorkingMemory(ctx, a); got != "secret of a" {
			t.Errorf("a's working memory = %q after b's attempts", got)
		}
	})
}

// A refused update (a compare-and-set that lost) changes nothing, not even
// the row it created to lock.
func TestWorkingMemoryRefusedUpdateChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, err := s.UpdateWorkingMemory(ctx, WorkingMemoryRef{ResourceID: "r"}, func(string) (string, error) { return "", ErrStale })
		if !errors.Is(err, ErrStale) {
			t.Fatalf("err = %v; want ErrStale", err)
		}
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM mastra_resources`).Scan(&n); err != nil || n != 0 {
			t.Errorf("mastra_resources rows = %d (%v); want 0 after a refused update", n, err)
		}
		ref := WorkingMemoryRef{ResourceID: "r", ThreadID: "new-thread", CreateThread: true}
		if _, err := s.UpdateWorkingMemory(ctx, ref, func(string) (string, error) { return "", ErrStale }); !errors.Is(err, ErrStale) {
			t.Fatalf("err = %v; want ErrStale", err)
		}
		if _, err := s.Thread(ctx, "r", "new-thread"); !errors.Is(err, ErrNotFound) {
			t.Errorf("thread created by a refused update: %v", err)
		}
	})
}

// Concurrent read-modify-write updates (each adds its own key to a JSON
// object) apply one after another: none is lost.
func TestWorkingMemoryConcurrentMergesAllLand(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.CreateThread(ctx, Thread{ID: "t", ResourceID: "r"}); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []WorkingMemoryRef{{ResourceID: "r"}, {ResourceID: "r", ThreadID: "t"}} {
			const n = 12
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.UpdateWorkingMemory(ctx, ref, func(cur string) (string, error) {
						m := map[string]int{}
						if cur != "" {
							if err := json.Unmarshal([]byte(cur), &m); err != nil {
								return "", err
							}
						}
						m[fmt.Sprintf("k%02d", i)] = i
						return jsonText(m), nil
					})
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("%+v: %v", ref, err)
				}
			}
			got, err := s.WorkingMemory(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]int
			if err := json.Unmarshal([]byte(got), &m); err != nil || len(m) != n {
				t.Errorf("%+v: working memory %s has %d keys (%v); want all %d updates", ref, got, len(m), err, n)
			}
		}
	})
}

func TestSetTitleIfEmpty(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, th := range []Thread{{ID: "untitled", ResourceID: "r"}, {ID: "titled", ResourceID: "r", Title: "Mine"}} {
			if _, err := s.CreateThread(ctx, th); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := s.SetTitleIfEmpty(ctx, "other", "untitled", "X"); ok || err != nil {
			t.Errorf("another resource set the title: %v, %v", ok, err)
		}
		if ok, err := s.SetTitleIfEmpty(ctx, "r", "untitled", "Generated"); !ok || err != nil {
			t.Errorf("SetTitleIfEmpty(untitled) = %v, %v; want true", ok, err)
		}
		if ok, _ := s.SetTitleIfEmpty(ctx, "r", "titled", "Generated"); ok {
			t.Error("SetTitleIfEmpty overwrote a title")
		}
		for id, want := range map[string]string{"untitled": "Generated", "titled": "Mine"} {
			if th, _ := s.Thread(ctx, "r", id); th.Title != want {
				t.Errorf("thread %s title = %q; want %q", id, th.Title, want)
			}
		}
	})
}
