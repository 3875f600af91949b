package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/host/memory"
	"github.com/mastra-server/mastra-server/internal/llmtest"
)

func titleService(t *testing.T, store *memory.Store, chat, titles *llmtest.Server) *Service {
	t.Helper()
	svc, err := NewService(store, []*Agent{{ID: "a", Model: chat.Model(10 * time.Second), Provider: "openai", ModelID: "gpt-big",
		LastMessages: 10, GenerateTitle: true, TitleModel: titles.Model(10 * time.Second), TitleModelID: "gpt-small"}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// waitTitle polls the thread until it has a title or the deadline passes.
func waitTitle(t *testing.T, store *memory.Store, resource, thread string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		th, err := store.Thread(context.Background(), resource, thread)
		if err == nil && th.Title != "" {
			return th.Title
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %s got no title: %+v, %v", thread, th, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The first turn of a new thread gets a title from the title model, in the
// background; later turns do not ask for another.
func TestTitleAfterFirstTurnOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		chat := newFake(t, llmtest.Reply{Text: "Hi there."})
		titles := newFake(t, llmtest.Reply{Text: "\"Trip to Lisbon.\""})
		svc := titleService(t, store, chat, titles)

		if _, err := svc.Generate(ctx, userTurn("t-1", "user-1", "Plan my trip to Lisbon")); err != nil {
			t.Fatal(err)
		}
		if got := waitTitle(t, store, "user-1", "t-1"); got != "Trip to Lisbon" {
			t.Errorf("title = %q", got)
		}
		if _, err := svc.Generate(ctx, userTurn("t-1", "user-1", "And Porto?")); err != nil {
			t.Fatal(err)
		}
		// Close waits for every background job: none may be left to ask.
		if err := svc.Close(ctx); err != nil {
			t.Fatal(err)
		}
		reqs := titles.Requests()
		if len(reqs) != 1 {
			t.Fatalf("title model asked %d times; want once, after the first turn", len(reqs))
		}
		if reqs[0].Model != "gpt-small" || reqs[0].Last().Text() != "Plan my trip to Lisbon" {
			t.Errorf("title request: model %q, %s", reqs[0].Model, reqs[0].Dump())
		}
		for _, r := range chat.Requests() {
			if strings.Contains(r.Dump(), "You name conversations") {
				t.Errorf("the title prompt reached the chat model: %s", r.Dump())
			}
		}
	})
}

// A title the user gave is never overwritten: a thread created with one is
// not titled, and a title set while the model was thinking wins.
func TestTitleNeverOverwritesUsers(t *testing.T) {
	eachStore(t, func(t *testing.T, store *memory.Store) {
		ctx := context.Background()
		chat := newFake(t, llmtest.Reply{Text: "Hi."})
		asked := make(chan struct{}, 4)
		release := make(chan struct{})
		titles := llmtest.NewServer(t, func(llmtest.Request) llmtest.Reply {
			asked <- struct{}{}
			<-release
			return llmtest.Reply{Text: "Generated"}
		})
		svc := titleService(t, store, chat, titles)
		defer close(release)

		if _, err := store.CreateThread(ctx, memory.Thread{ID: "named", ResourceID: "u", Title: "My plans"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Generate(ctx, userTurn("named", "u", "Hello")); err != nil {
			t.Fatal(err)
		}

		if _, err := svc.Generate(ctx, userTurn("racing", "u", "Hello")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-asked:
		case <-time.After(10 * time.Second):
			t.Fatal("title model never asked for the new thread")
		}
		title := "Set by the user"
		if _, err := store.UpdateThread(ctx, "u", "racing", memory.ThreadUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
		release <- struct{}{}
		if err := svc.Close(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{"named": "My plans", "racing": "Set by the user"} {
			if th, _ := store.Thread(ctx, "u", id); th.Title != want {
				t.Errorf("thread %s title = %q; want the user's %q", id, th.Title, want)
			}
		}
		if n := len(titles.Requests()); n != 1 {
			t.Errorf("title model asked %d times; want once (not for the named thread)", n)
		}
	})
}

// Close cancels a title still being generated.
func TestCloseCancelsTitle(t *testing.T) {
	store := sqliteStore(t)
	chat := newFake(t, llmtest.Reply{Text: "Hi."})
	titles := newFake(t, llmtest.Reply{StallBeforeAnswer: true})
	svc := titleService(t, store, chat, titles)
	if _, err := svc.Generate(context.Background(), userTurn("t", "u", "Hello")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if len(titles.Requests()) == 1 {
		select {
		case <-titles.Cancelled():
		case <-ctx.Done():
			t.Error("the title request was not cancelled")
		}
	}
	if th, _ := store.Thread(context.Background(), "u", "t"); th.Title != "" {
		t.Errorf("title = %q after a cancelled generation", th.Title)
	}
}
