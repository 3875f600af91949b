package agent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mastra-server/mastra-server/host/llm"
	"github.com/mastra-server/mastra-server/host/memory"
)

// Thread titles (Mastra's generateTitle): after the first turn of a new
// thread, the agent's title model names the thread from the user's first
// message. It runs in the background so the reply is not delayed; at most
// maxTitleJobs run at once (more are skipped, the thread keeps its empty
// title), each for at most titleTimeout, and Close cancels them. A title is
// stored only while the thread has none: a user's title is never
// overwritten.

const (
	maxTitleJobs = 8
	titleTimeout = 30 * time.Second
	maxTitle     = 100 // runes
	maxTitleText = 2000
)

const titleInstructions = "You name conversations. Write a short title (at most 80 characters) for the conversation " +
	"that starts with the user's message below, in the language of the message. Reply with the title only: no quotes, " +
	"no trailing punctuation."

// background is the Service's background work: title jobs.
type background struct {
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	slots chan struct{} // one per running job
}

func newBackground() *background {
	ctx, stop := context.WithCancel(context.Background())
	return &background{ctx: ctx, stop: stop, slots: make(chan struct{}, maxTitleJobs)}
}

// Close cancels the background work (title generation) and waits for it
// to end, or for ctx.
func (s *Service) Close(ctx context.Context) error {
	s.bg.stop()
	done := make(chan struct{})
	go func() { s.bg.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agent: close: background work still running: %w", ctx.Err())
	}
}

// isEmpty reports whether a thread has no message yet. history is what the
// turn loaded: when it holds messages the answer is known.
func (s *Service) isEmpty(ctx context.Context, threadID string, history []memory.Message) (bool, error) {
	if len(history) > 0 {
		return false, nil
	}
	last, err := s.store.LastMessages(ctx, threadID, 1)
	if err != nil {
		return false, fmt.Errorf("agent: load history: %w", err)
	}
	return len(last) == 0, nil
}

// titleLater starts generating the title of a thread whose first turn was
// just saved, unless maxTitleJobs are running or the Service is closed;
// turn is the turn's context: the title's model call counts against the
// turn's budgets (see SetAdmission) and is watched as the turn's are.
func (s *Service) titleLater(turn context.Context, a *Agent, resourceID, threadID string, input []llm.Message) {
	var first string
	for _, m := range input {
		if m.Role == llm.RoleUser && strings.TrimSpace(m.Content) != "" {
			first = truncate(m.Content, maxTitleText)
			break
		}
	}
	if first == "" || s.bg.ctx.Err() != nil {
		return
	}
	select {
	case s.bg.slots <- struct{}{}:
	default:
		s.log.Warn("agent: thread title skipped: too many titles in progress", "agent", a.ID, "thread", threadID)
		return
	}
	s.bg.wg.Add(1)
	go func() {
		defer s.bg.wg.Done()
		defer func() { <-s.bg.slots }()
		// The turn's values (its budgets), the Service's lifetime.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(turn), titleTimeout)
		defer cancel()
		defer context.AfterFunc(s.bg.ctx, cancel)()
		if err := s.writeTitle(ctx, a, resourceID, threadID, first); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "agent: thread title failed",
				slog.String("agent", a.ID), slog.String("thread", threadID), slog.String("error", err.Error()))
		}
	}()
}

func (s *Service) writeTitle(ctx context.Context, a *Agent, resourceID, threadID, first string) error {
	model, id, provider := a.Model, a.ModelID, a.Provider
	if a.TitleModel != nil {
		model, id, provider = a.TitleModel, a.TitleModelID, ""
	}
	if s.admit != nil {
		// Refused as a turn is once the turn's budget is spent.
		if err := s.admit(ctx, TurnInfo{Agent: a, ThreadID: threadID, ResourceID: resourceID}); err != nil {
			return err
		}
	}
	req := llm.Request{Model: id, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: titleInstructions},
		{Role: llm.RoleUser, Content: first},
	}}
	var mc ModelCallObserver
	if s.obs != nil {
		ctx, mc = s.obs.StartModelCall(ctx, ModelCallInfo{Agent: a, Provider: provider, Model: id, Request: &req})
	}
	resp, err := model.Generate(ctx, req)
	if mc != nil {
		mc.End(resp, err)
	}
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	title := cleanTitle(resp.Text)
	if title == "" {
		return nil
	}
	if _, err := s.store.SetTitleIfEmpty(ctx, resourceID, threadID, title); err != nil {
		return err
	}
	return nil
}

// cleanTitle keeps the first line of a model's answer, without quotes or a
// trailing period, at most maxTitle runes.
func cleanTitle(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "\"'`*#"))
	s = strings.TrimRight(s, ".")
	if r := []rune(s); len(r) > maxTitle {
		s = string(r[:maxTitle])
	}
	return strings.TrimSpace(s)
}
