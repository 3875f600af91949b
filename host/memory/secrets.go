package memory

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/uptrace/bun"
)

// secretRow is a server secret (mastra_server_secrets). It lives in the
// database so that every instance on it holds the same value.
type secretRow struct {
	bun.BaseModel `bun:"table:mastra_server_secrets"`

	Name  string `bun:"name,pk"`
	Value []byte `bun:"value,notnull"`
}

// secretSize is the length of a secret made by Secret, in bytes.
const secretSize = 32

// Secret returns the secret called name, making a random one the first
// time any instance asks. Instances asking at once all get the one that
// was stored first.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	fresh := &secretRow{Name: name, Value: make([]byte, secretSize)}
	if _, err := rand.Read(fresh.Value); err != nil {
		return nil, fmt.Errorf("memory: make secret %s: %w", name, err)
	}
	if _, err := s.db.NewInsert().Model(fresh).On("CONFLICT (name) DO NOTHING").Exec(ctx); err != nil {
		return nil, classify(fmt.Errorf("memory: store secret %s: %w", name, err))
	}
	row := new(secretRow)
	if err := s.db.NewSelect().Model(row).Where("name = ?", name).Scan(ctx); err != nil {
		return nil, classify(fmt.Errorf("memory: load secret %s: %w", name, err))
	}
	if len(row.Value) < secretSize {
		return nil, fmt.Errorf("memory: secret %s: %d bytes; want at least %d", name, len(row.Value), secretSize)
	}
	return row.Value, nil
}
