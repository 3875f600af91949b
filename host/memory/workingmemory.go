package memory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Working memory is kept where Mastra keeps it, so a Mastra server on the
// same database reads and writes the same text: a resource's in
// mastra_resources."workingMemory", a thread's under the key workingMemory
// of the thread's metadata. The text is Markdown or JSON; the store does not
// look inside it.

// WorkingMemoryKey is the metadata key of a thread's working memory.
const WorkingMemoryKey = "workingMemory"

// ErrStale is an update refused because the working memory changed since
// the caller read it.
var ErrStale = errors.New("memory: working memory changed since it was read")

// WorkingMemoryRef names one working memory.
type WorkingMemoryRef struct {
	// ResourceID owns the working memory. Required for a resource's; for a
	// thread's, the thread must belong to it ("" for unscoped callers).
	ResourceID string
	// ThreadID, when set, names a thread's working memory instead of the
	// resource's.
	ThreadID string
	// CreateThread creates a missing thread (title "", owned by
	// ResourceID) when a thread's working memory is updated, as Mastra's
	// tool does in a thread's first turn.
	CreateThread bool
}

// resourceRow is the mastra_resources table as @mastra/pg defines it.
type resourceRow struct {
	bun.BaseModel `bun:"table:mastra_resources"`

	ID            string         `bun:"id,pk"`
	WorkingMemory *string        `bun:"workingMemory"`
	Metadata      metadataColumn `bun:"metadata,type:jsonb,nullzero"`
	CreatedAt     time.Time      `bun:"createdAt,notnull"`
	UpdatedAt     time.Time      `bun:"updatedAt,notnull"`
	CreatedAtZ    bun.NullTime   `bun:"createdAtZ"`
	UpdatedAtZ    bun.NullTime   `bun:"updatedAtZ"`
}

// WorkingMemory returns the working memory ref names; "" when there is
// none. A thread that does not exist (or is another resource's) has none.
func (s *Store) WorkingMemory(ctx context.Context, ref WorkingMemoryRef) (string, error) {
	if ref.ThreadID == "" {
		if ref.ResourceID == "" {
			return "", errors.New("memory: working memory: no resource")
		}
		row := new(resourceRow)
		err := s.db.NewSelect().Model(row).Where("id = ?", ref.ResourceID).Limit(1).Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return "", nil
		case err != nil:
			return "", classify(fmt.Errorf("memory: working memory of resource %s: %w", ref.ResourceID, err))
		case row.WorkingMemory == nil:
			return "", nil
		}
		return *row.WorkingMemory, nil
	}
	t, err := s.Thread(ctx, ref.ResourceID, ref.ThreadID)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return threadWorkingMemory(t.Metadata), nil
}

// threadWorkingMemory reads the working memory of thread metadata. Mastra
// writes a string; anything else another writer left there is passed on
// as its JSON text.
func threadWorkingMemory(meta map[string]any) string {
	switch v := meta[WorkingMemoryKey].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return jsonText(v)
	}
}

// UpdateWorkingMemory changes the working memory ref names and returns the
// stored text. update gets the current text ("" when none) and returns the
// new one; it runs while the row is locked (Postgres: SELECT … FOR UPDATE;
// SQLite: the transaction holds the write lock), so concurrent updates
// apply one after the other and each sees the previous one's result: a
// merge never loses a concurrent merge, and a compare-and-set (update
// returning ErrStale) sees the latest text. An error from update leaves
// everything as it was and is returned.
//
// A thread's working memory needs the thread, of ref.ResourceID when that
// is set: ErrNotFound otherwise, unless ref.CreateThread. The rest of the
// thread's metadata is kept.
func (s *Store) UpdateWorkingMemory(ctx context.Context, ref WorkingMemoryRef, update func(current string) (string, error)) (string, error) {
	var out string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := time.Now().UTC()
		if ref.ThreadID == "" {
			return s.updateResourceWM(ctx, tx, ref.ResourceID, now, update, &out)
		}
		return s.updateThreadWM(ctx, tx, ref, now, update, &out)
	})
	return out, classify(err)
}

func (s *Store) updateResourceWM(ctx context.Context, tx bun.Tx, id string, now time.Time,
	update func(string) (string, error), out *string) error {
	if id == "" {
		return errors.New("memory: working memory: no resource")
	}
	// Make sure the row exists, so there is a row to lock; a failed
	// update rolls the new row back with everything else.
	_, err := tx.NewInsert().Model(&resourceRow{ID: id, Metadata: metadataColumn{}, CreatedAt: now, UpdatedAt: now,
		CreatedAtZ: bun.NullTime{Time: now}, UpdatedAtZ: bun.NullTime{Time: now}}).
		On("CONFLICT (id) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("memory: create resource %s: %w", id, err)
	}
	row := new(resourceRow)
	if err := s.forUpdate(tx.NewSelect().Model(row).Where("id = ?", id)).Scan(ctx); err != nil {
		return fmt.Errorf("memory: lock resource %s: %w", id, err)
	}
	cur := ""
	if row.WorkingMemory != nil {
		cur = *row.WorkingMemory
	}
	next, err := update(cur)
	if err != nil {
		return err
	}
	_, err = tx.NewUpdate().Model((*resourceRow)(nil)).
		Set(`"workingMemory" = ?`, next).Set(`"updatedAt" = ?`, now).Set(`"updatedAtZ" = ?`, now).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("memory: update working memory of resource %s: %w", id, err)
	}
	*out = next
	return nil
}

func (s *Store) updateThreadWM(ctx context.Context, tx bun.Tx, ref WorkingMemoryRef, now time.Time,
	update func(string) (string, error), out *string) error {
	if ref.CreateThread {
		if ref.ResourceID == "" {
			return errors.New("memory: working memory: creating a thread needs its resource")
		}
		_, err := tx.NewInsert().Model(newThreadRow(Thread{ID: ref.ThreadID, ResourceID: ref.ResourceID, CreatedAt: now, UpdatedAt: now})).
			On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("memory: create thread %s: %w", ref.ThreadID, err)
		}
	}
	row := new(threadRow)
	q := tx.NewSelect().Model(row).Where("id = ?", ref.ThreadID)
	if ref.ResourceID != "" {
		q = q.Where(`"resourceId" = ?`, ref.ResourceID)
	}
	if err := s.forUpdate(q).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return fmt.Errorf("memory: lock thread %s: %w", ref.ThreadID, err)
	}
	next, err := update(threadWorkingMemory(row.Metadata))
	if err != nil {
		return err
	}
	meta := make(metadataColumn, len(row.Metadata)+1)
	for k, v := range row.Metadata {
		meta[k] = v
	}
	meta[WorkingMemoryKey] = next
	_, err = tx.NewUpdate().Model((*threadRow)(nil)).
		Set("metadata = ?", meta).Set(`"updatedAt" = ?`, now).Set(`"updatedAtZ" = ?`, now).
		Where("id = ?", ref.ThreadID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("memory: update working memory of thread %s: %w", ref.ThreadID, err)
	}
	*out = next
	return nil
}

// forUpdate locks the selected row until the transaction ends. SQLite has
// no row locks: its transactions here take the database's write lock up
// front (_txlock=immediate), which serialises the same way.
func (s *Store) forUpdate(q *bun.SelectQuery) *bun.SelectQuery {
	if s.kind == "postgres" {
		return q.For("UPDATE")
	}
	return q
}

// SetTitleIfEmpty gives a thread of resourceID its title unless it has one
// already (a user's title is never overwritten). It reports whether the
// title was set; a thread that is gone or titled is not an error.
func (s *Store) SetTitleIfEmpty(ctx context.Context, resourceID, threadID, title string) (bool, error) {
	now := time.Now().UTC()
	res, err := s.db.NewUpdate().Model((*threadRow)(nil)).
		Set("title = ?", title).Set(`"updatedAt" = ?`, now).Set(`"updatedAtZ" = ?`, now).
		Where("id = ?", threadID).Where(`"resourceId" = ?`, resourceID).Where("title = ''").
		Exec(ctx)
	if err != nil {
		return false, classify(fmt.Errorf("memory: set title of %s: %w", threadID, err))
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
