// Package runlog keeps the chunks of resumable agent streams, so that a
// client whose connection dropped can reconnect, to any instance, and get
// exactly the chunks it missed, then the live ones.
//
// # Writing
//
// The instance that runs a turn calls [Log.Start], which logs the run (its
// resource, agent and thread) and takes its lease, then hands each chunk to
// [Writer.Append]. Append assigns the chunk its sequence number (1, 2, …:
// the SSE id) and returns at once. One goroutine per instance writes what
// every local run has pending (leases renewed on the way) in one statement
// per batch, at most one batch per flush interval: the statements an instance
// makes do not grow with its streams or their tokens. [Writer.Hold] waits
// for the next batch (the check before a turn is saved); [Writer.End]
// writes the run's end.
//
// # Leases
//
// Every instance renews the leases of its running runs every third of the
// lease duration, in one statement. A run whose lease has expired has lost
// its runner (a crash, a partition): the first follower to notice logs the
// run's closing chunks (from the Options' Terminate) and ends it, and the
// runner, if it was alive after all, finds its next write refused
// ([ErrLost]) and its turn must not be saved ([Writer.Hold]).
//
// # Following
//
// [Log.Follow] replays a run's chunks after a sequence number and then
// follows it live until it ends. A run of this instance is followed from
// memory; any other from the database, woken by Postgres notifications
// (LISTEN/NOTIFY, one connection per instance) or, when those are down, by
// polling. The followers of one run on one instance share one reader of it
// (internal/follow, which workflow watchers share too: one read per
// wake-up, however many follow); each reads its backlog itself when it
// joins, and one that falls a buffer behind reads its gap and joins again.
// On SQLite there is one instance, and every running run is local.
//
// The log's tables are queried in this package only (db.go). Of host/ it
// imports host/memory only, for the database handle and the notification
// listener the store keeps (and internal/follow, internal/wakeup); what a
// chunk means is the caller's (Options.Terminate).
package runlog
