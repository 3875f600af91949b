// Package memory keeps conversation threads and their messages, in Postgres
// or in an embedded SQLite file, through one Store used by every handler.
//
// The tables and columns are those of Mastra's @mastra/pg store
// (mastra_threads, mastra_messages, mastra_resources): a database a Mastra
// server wrote can be opened here, and Mastra can read what this package
// writes. Message content is stored as Mastra's v2 JSON text with type 'v2'.
//
// The store hands out Thread and Message values, never Bun types. Every
// read of a thread takes the resource (tenant) first, so another resource's
// thread is simply not found. History reads use the (thread_id, createdAt)
// index with a LIMIT, so their cost does not grow with the thread.
//
// The stream log's tables are queried by host/runlog, the rate-limit
// counters and leases by host/limits and the plugins' KV by host/app,
// through the store's database handle (DB) and with its error
// classification (Classify), not here: the store has only memory's
// methods (and, until the database has one listener, ListenStreams).
//
// This package imports nothing from the rest of host/ but host/dbdown.
package memory
