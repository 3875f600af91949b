package memory

import (
	"context"

	"github.com/mastra-server/mastra-server/host/store"
)

// The stream log's tables are host/runlog's, which queries them; their
// notifications are listened to here, on the store's own connection,
// until the database gets one listener for every topic.

// StreamChannel is the Postgres notification channel of appended chunks:
// the payload names the runs that got some, separated by spaces, or is "*"
// for "any run".
const StreamChannel = "mastra_stream"

// ErrNoListen is ListenStreams on SQLite, which has no notifications.
var ErrNoListen = store.ErrNoListen

// ListenStreams calls fn with the payload of every notification on
// StreamChannel, on the instance's one LISTEN connection (host/store),
// until ctx is done or the connection fails; it returns that error. ready
// is called once the connection listens.
func (s *Store) ListenStreams(ctx context.Context, ready func(), fn func(payload string)) error {
	return classify(s.sdb.Listen(ctx, StreamChannel, ready, fn))
}
