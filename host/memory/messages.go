package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// SaveMessages stores messages as they are (an upsert by id), as Mastra's
// save-messages does. Every message's thread must exist and, when
// resourceID is not empty, belong to it; otherwise nothing is saved and the
// error is ErrNotFound. A message id that exists outside the target
// thread's resource is ErrMessageConflict, and nothing is saved either: an
// upsert never takes another resource's message. The threads' updatedAt
// are bumped.
func (s *Store) SaveMessages(ctx context.Context, resourceID string, msgs []Message) ([]Message, error) {
	now := time.Now().UTC()
	out := make([]Message, len(msgs))
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		owners := map[string]string{}
		// Messages of one thread that arrive with the same time keep the
		// batch's order: each is put 1 ms after its predecessor.
		type stamp struct{ sent, stored time.Time }
		prev := map[string]stamp{}
		for i, m := range msgs {
			owner, ok := owners[m.ThreadID]
			if !ok {
				t, err := threadIn(ctx, tx, resourceID, m.ThreadID)
				if err != nil {
					return err
				}
				owner = t.ResourceID
				owners[m.ThreadID] = owner
			}
			if m.ResourceID == "" {
				m.ResourceID = owner
			}
			if m.CreatedAt.IsZero() {
				m.CreatedAt = now
			}
			sent := m.CreatedAt
			if p, ok := prev[m.ThreadID]; ok && sent.Equal(p.sent) {
				m.CreatedAt = p.stored.Add(time.Millisecond)
			}
			prev[m.ThreadID] = stamp{sent, m.CreatedAt}
			out[i] = m
			// The upsert may only overwrite (or move) a message that is in
			// one of the owner's threads: an id taken elsewhere updates
			// nothing, and the whole batch is refused.
			res, err := tx.NewInsert().Model(newMessageRow(m)).
				On("CONFLICT (id) DO UPDATE").
				Set("thread_id = EXCLUDED.thread_id").Set("content = EXCLUDED.content").
				Set("role = EXCLUDED.role").Set("type = EXCLUDED.type").Set(`"resourceId" = EXCLUDED."resourceId"`).
				Where(`?TableAlias.thread_id IN (SELECT id FROM mastra_threads WHERE "resourceId" = ?)`, owner).
				Exec(ctx)
			if err != nil {
				return fmt.Errorf("memory: save message %s: %w", m.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return ErrMessageConflict
			}
		}
		for id := range owners {
			_, err := tx.NewUpdate().Model((*threadRow)(nil)).
				Set(`"updatedAt" = ?`, now).Set(`"updatedAtZ" = ?`, now).Where("id = ?", id).Exec(ctx)
			if err != nil {
				return fmt.Errorf("memory: touch thread %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// DeleteMessages deletes messages by id and returns how many went. With a
// resourceID, only messages in that resource's threads are deleted.
func (s *Store) DeleteMessages(ctx context.Context, resourceID string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	q := s.db.NewDelete().Model((*messageRow)(nil)).Where("id IN (?)", bun.List(ids))
	if resourceID != "" {
		q = q.Where(`thread_id IN (SELECT id FROM mastra_threads WHERE "resourceId" = ?)`, resourceID)
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, classify(fmt.Errorf("memory: delete messages: %w", err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// MessagesByID returns the messages with these ids that are in threads of
// resourceID, in history order; ids that are missing or another resource's
// are left out.
func (s *Store) MessagesByID(ctx context.Context, resourceID string, ids []string) ([]Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []messageRow
	err := s.db.NewSelect().Model(&rows).Where("id IN (?)", bun.List(ids)).
		Where(`thread_id IN (SELECT id FROM mastra_threads WHERE "resourceId" = ?)`, resourceID).
		OrderExpr(`"createdAt" ASC, id ASC`).Scan(ctx)
	if err != nil {
		return nil, classify(fmt.Errorf("memory: load messages by id: %w", err))
	}
	out := make([]Message, len(rows))
	for i := range rows {
		out[i] = rows[i].message()
	}
	return out, nil
}
