// Package workflow runs declarative workflows durably.
//
// State of record: the run's snapshot in mastra_workflow_snapshot, in
// Mastra's columns and WorkflowRunState shape, so a Mastra server and this
// one read each other's runs. What only this engine needs (the cursor of
// active steps, a version for compare-and-set, step leases) sits in side
// tables, as does the log of stream chunks, keyed (workflow, run, seq), from
// which observe and reconnecting streams read on any instance. The watchers
// of one run on one instance share one reader of it (internal/follow, as
// the stream log's followers do); chunks are numbered from 1 (seq + 1: the
// column holds the 0-based index it always held).
//
// Dispatch: one step is one job. Finishing a step commits, in one
// transaction, the snapshot, its chunks and the jobs of the next steps. On
// Postgres the jobs are River jobs on the same database (any instance runs
// any step; a step whose instance died is rescued after its timeout; steps
// are at least once). On SQLite an in-process dispatcher keeps the same
// jobs in a table: SQLite mode is single-node.
//
// Files: machine.go holds the state machine (a turn: one change of a run,
// as effects committed by save), worker.go the worker (a job: its lease,
// its step's execution, outside any transaction for a step that waits on
// an agent, a tool or a module, then its transition's commit), dispatch_*
// the queues, watch.go the watchers.
//
// The package calls agents and tools through AgentRunner and ToolRunner,
// which the composition root provides; it imports neither the HTTP host nor
// the agent package.
package workflow
