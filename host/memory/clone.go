package memory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Clone says how CloneThread copies a thread.
type Clone struct {
	// NewID is the copy's id; it must not be taken (ErrConflict).
	NewID string
	// ResourceID owns the copy; "" keeps the source's resource.
	ResourceID string
	// Title of the copy; "" is "Clone of <source title>" (or "" when the
	// source has none), as Mastra names clones.
	Title string
	// Metadata is merged over the source's metadata.
	Metadata map[string]any
	// MessageLimit keeps only the last n messages; 0 copies all.
	MessageLimit int
	// NewMessageID makes the id of each copied message.
	NewMessageID func() string
}

// CloneThread copies thread sourceID of resourceID (any resource when
// resourceID is "") and its messages, with new ids and the messages' times
// kept, in one transaction. The copy's metadata records its source under
// "clone" ({sourceThreadId, clonedAt, lastMessageId}) as Mastra's does. A
// source of another resource is ErrNotFound.
func (s *Store) CloneThread(ctx context.Context, resourceID, sourceID string, c Clone) (Thread, []Message, error) {
	now := time.Now().UTC()
	var out Thread
	var copied []Message
	err := s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		src, err := threadIn(ctx, tx, resourceID, sourceID)
		if err != nil {
			return err
		}
		var rows []messageRow
		q := tx.NewSelect().Model(&rows).Where("thread_id = ?", sourceID).OrderExpr(`"createdAt" DESC, id DESC`)
		if c.MessageLimit > 0 {
			q = q.Limit(int64(c.MessageLimit))
		}
		if err := q.Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("memory: read messages of %s: %w", sourceID, err)
		}
		slices.Reverse(rows)

		out = Thread{ID: c.NewID, ResourceID: c.ResourceID, Title: c.Title, CreatedAt: now, UpdatedAt: now}
		if out.ResourceID == "" {
			out.ResourceID = src.ResourceID
		}
		if out.Title == "" && src.Title != "" {
			out.Title = "Clone of " + src.Title
		}
		out.Metadata = map[string]any{}
		maps.Copy(out.Metadata, src.Metadata)
		maps.Copy(out.Metadata, c.Metadata)
		origin := map[string]any{"sourceThreadId": src.ID, "clonedAt": now.Format(time.RFC3339Nano)}
		if len(rows) > 0 {
			origin["lastMessageId"] = rows[len(rows)-1].ID
		}
		out.Metadata["clone"] = origin
		res, err := tx.NewInsert().Model(newThreadRow(out)).On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("memory: create clone %s: %w", out.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		if len(rows) == 0 {
			return nil
		}
		// One statement for all the copies, as SaveTurn writes a turn's.
		copies := make([]*messageRow, len(rows))
		for i, r := range rows {
			m := r.message()
			m.ID, m.ThreadID, m.ResourceID = c.NewMessageID(), out.ID, out.ResourceID
			copies[i] = newMessageRow(m)
			copied = append(copied, m)
		}
		if _, err := tx.NewInsert().Model(&copies).Exec(ctx); err != nil {
			return fmt.Errorf("memory: copy messages of %s: %w", sourceID, err)
		}
		return nil
	})
	if err != nil {
		return Thread{}, nil, classify(err)
	}
	t, err := s.Thread(ctx, out.ResourceID, out.ID)
	return t, copied, err
}
