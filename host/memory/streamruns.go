package memory

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The stream log's tables are host/runlog's, which queries them; their
// notifications are listened to here, on the store's own connection,
// until the database gets one listener for every topic.

// StreamChannel is the Postgres notification channel of appended chunks:
// the payload names the runs that got some, separated by spaces, or is "*"
// for "any run".
const StreamChannel = "mastra_stream"

// ErrNoListen is ListenStreams on SQLite, which has no notifications.
var ErrNoListen = errors.New("memory: notifications need Postgres")

// ListenStreams calls fn with the payload of every notification on
// StreamChannel, on a connection of its own (outside the pool), until ctx
// is done or the connection fails; it returns that error. ready is called
// once the connection listens.
func (s *Store) ListenStreams(ctx context.Context, ready func(), fn func(payload string)) error {
	if s.pgConfig == nil {
		return ErrNoListen
	}
	conn, err := pgx.ConnectConfig(ctx, s.pgConfig)
	if err != nil {
		return classify(fmt.Errorf("memory: listen: %w", err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+StreamChannel); err != nil {
		return classify(fmt.Errorf("memory: listen: %w", err))
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return classify(fmt.Errorf("memory: listen: %w", err))
		}
		fn(n.Payload)
	}
}
