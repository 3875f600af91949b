// Package limits enforces [server.limits]: per subject (a resource, an
// admin token's user, or a client address) a number of requests per
// minute, a number of model tokens per minute, and a number of streams open
// at once. Every limit is off (0) unless configured.
//
// # Counting
//
// Requests and model tokens are counted in fixed one-minute windows: a
// request adds one to its window's counter and is refused (an
// [ExceededError], 429 with Retry-After = the rest of the window) once the
// counter passes the limit. Model tokens are added after each model call
// from the usage it reports; a turn is refused before any model call while
// the window's tokens are at or over the budget. A fixed window lets up to
// twice the limit through around a window's edge; it is one row per
// subject and minute, which several instances can share.
//
// Streams hold a lease for their whole life, renewed while they run; the
// lease of an instance that dies expires by itself ([LeaseTTL]), on the
// database's clock, so no instance's clock decides for the others.
//
// # Who pays
//
// A model call counts against its principal (the subject of the request
// it is made for) and the resource it runs for ([Limiter.Agents]). Work
// that runs later, a workflow run's steps, stores its starter's subject by
// name ([Subject.Principal]) and gets it back with the limits of now
// ([Budgets.Subject]).
//
// # Where counts live
//
// [NewStore] keeps counters and leases in the memory store's database, so
// instances on one Postgres share them (one upsert per request); their
// tables are queried in this package only (store.go).
// [NewMemory] keeps them in the process, for SQLite, which is one node.
//
// limits imports memory (for the database handle) and agent (to gate turns
// and watch model calls, [Limiter.Agents]), nothing of HTTP: host/server
// calls it per request and per stream, host/app wires it to the agents.
package limits
