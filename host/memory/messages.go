package memory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// maxParams is Postgres's limit of bind parameters in one statement. Bun
// formats every value into the SQL text and sends no bind parameters, so
// that limit never applies here; the chunks below use it only as a bound
// on how many values (and so how many bytes) one statement carries.
const maxParams = 65535

// messageRowsPerStatement is how many message rows (8 columns each) one
// INSERT carries.
const messageRowsPerStatement = maxParams / 8

// SaveMessages stores messages as they are (an upsert by id), as Mastra's
// save-messages does. Every message's thread must exist and, when
// resourceID is not empty, belong to it; otherwise nothing is saved and the
// error is ErrNotFound. A message id that exists outside the target
// thread's resource is ErrMessageConflict, and nothing is saved either: an
// upsert never takes another resource's message. The threads' updatedAt
// are bumped. The result is what saving the messages one after the other
// would leave (an id given twice ends with the later message, at the
// earlier one's time), written in a few statements.
//
// One resource's SaveMessages hold at most Options.BulkWriteConns
// connections at once (resourceID "" is one resource here): one more is a
// *BusyError at once, before it touches the database.
func (s *Store) SaveMessages(ctx context.Context, resourceID string, msgs []Message) ([]Message, error) {
	release, ok := s.bulk.take(resourceID)
	if !ok {
		return nil, &BusyError{Conns: s.bulk.max}
	}
	defer release()
	now := time.Now().UTC()
	var out []Message
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		owners, err := threadOwners(ctx, tx, resourceID, msgs)
		if err != nil {
			return err
		}
		// As if saved one by one: the first message whose thread is
		// missing stops the batch, and a conflict before it wins.
		stop := len(msgs)
		for i, m := range msgs {
			if _, ok := owners[m.ThreadID]; !ok {
				stop = i
				break
			}
		}
		out = stampSaved(msgs[:stop], owners, now)
		if err := upsertMessages(ctx, tx, out, owners); err != nil {
			return err
		}
		if stop < len(msgs) {
			return ErrNotFound
		}
		return touchThreads(ctx, tx, slices.Sorted(maps.Keys(owners)), now)
	})
	if err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// threadOwners maps the threads of msgs that exist (and, when resourceID
// is not empty, belong to it) to their resource.
func threadOwners(ctx context.Context, tx bun.Tx, resourceID string, msgs []Message) (map[string]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m.ThreadID] {
			seen[m.ThreadID] = true
			ids = append(ids, m.ThreadID)
		}
	}
	owners := make(map[string]string, len(ids))
	for chunk := range slices.Chunk(ids, maxParams-1) {
		var rows []threadRow
		q := tx.NewSelect().Model(&rows).Column("id", "resourceId").Where("id IN (?)", bun.List(chunk))
		if resourceID != "" {
			q = q.Where(`"resourceId" = ?`, resourceID)
		}
		if err := q.Scan(ctx); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("memory: load threads of the messages: %w", err)
		}
		for _, r := range rows {
			owners[r.ID] = r.ResourceID
		}
	}
	return owners, nil
}

// stampSaved returns msgs with their resource (the thread's owner when
// they name none) and time (now when they have none) filled in. Messages
// of one thread that arrive with the same time keep the batch's order:
// each is put 1 ms after its predecessor.
func stampSaved(msgs []Message, owners map[string]string, now time.Time) []Message {
	type stamp struct{ sent, stored time.Time }
	prev := map[string]stamp{}
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		if m.ResourceID == "" {
			m.ResourceID = owners[m.ThreadID]
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
	}
	return out
}

// upsertMessages writes msgs, whose threads are all in owners, with one
// multi-row upsert per owner and chunk. An upsert may only overwrite (or
// move) a message that is in one of the owner's threads: an id taken
// elsewhere updates nothing, and the whole batch is refused with
// ErrMessageConflict.
func upsertMessages(ctx context.Context, tx bun.Tx, msgs []Message, owners map[string]string) error {
	// One row per id (an upsert cannot touch a row twice): a repeated id
	// keeps its first time and takes its later fields, as a second upsert
	// of it would. A repeated id in another owner's thread is what its
	// second upsert would refuse.
	byID := map[string]*messageRow{}
	ownerOf := map[string]string{}
	byOwner := map[string][]*messageRow{}
	for _, m := range msgs {
		owner := owners[m.ThreadID]
		row := newMessageRow(m)
		if first, ok := byID[m.ID]; ok {
			if ownerOf[m.ID] != owner {
				return ErrMessageConflict
			}
			row.CreatedAt, row.CreatedAtZ = first.CreatedAt, first.CreatedAtZ
			*first = *row
			continue
		}
		byID[m.ID], ownerOf[m.ID] = row, owner
		byOwner[owner] = append(byOwner[owner], row)
	}
	for _, owner := range slices.Sorted(maps.Keys(byOwner)) {
		rows := byOwner[owner]
		// Rows in id order, so concurrent batches lock them in one order.
		slices.SortFunc(rows, func(a, b *messageRow) int { return strings.Compare(a.ID, b.ID) })
		for chunk := range slices.Chunk(rows, messageRowsPerStatement) {
			var written []string
			_, err := tx.NewInsert().Model(&chunk).
				On("CONFLICT (id) DO UPDATE").
				Set("thread_id = EXCLUDED.thread_id").Set("content = EXCLUDED.content").
				Set("role = EXCLUDED.role").Set("type = EXCLUDED.type").Set(`"resourceId" = EXCLUDED."resourceId"`).
				Where(`?TableAlias.thread_id IN (SELECT id FROM mastra_threads WHERE "resourceId" = ?)`, owner).
				Returning("id").Exec(ctx, &written)
			if err != nil {
				return fmt.Errorf("memory: save %d messages: %w", len(chunk), err)
			}
			if len(written) != len(chunk) {
				return ErrMessageConflict
			}
		}
	}
	return nil
}

// touchThreads bumps the updatedAt of threads.
func touchThreads(ctx context.Context, tx bun.Tx, threads []string, now time.Time) error {
	for chunk := range slices.Chunk(threads, maxParams-2) {
		_, err := tx.NewUpdate().Model((*threadRow)(nil)).
			Set(`"updatedAt" = ?`, now).Set(`"updatedAtZ" = ?`, now).Where("id IN (?)", bun.List(chunk)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("memory: touch %d threads: %w", len(chunk), err)
		}
	}
	return nil
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
