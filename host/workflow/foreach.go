package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// A foreach step's elements are stored once, as the step starts, one row
// each in mastra_server_workflow_foreach; each element's job writes its
// own output into its row, and the step's output (the list of outputs) is
// assembled once, when the last element is done. Neither the cursor nor
// the snapshot carries the list, so an element costs the same whatever
// the list's length: a list kept in the run's state made every element
// rewrite all of it.

// itemBatch is how many elements one INSERT stores.
const itemBatch = 500

// storeItems keeps the elements of foreach step s of run r, in tx.
func (e *Engine) storeItems(ctx context.Context, tx *txn, r *runRow, s *step, items []any) error {
	if _, err := tx.exec(ctx, `DELETE FROM mastra_server_workflow_foreach WHERE workflow_name = $1 AND run_id = $2 AND step_id = $3`,
		r.Workflow, r.RunID, s.def.ID); err != nil {
		return fmt.Errorf("workflow: store foreach elements: %w", err)
	}
	for from := 0; from < len(items); from += itemBatch {
		to := min(from+itemBatch, len(items))
		var q strings.Builder
		q.WriteString(`INSERT INTO mastra_server_workflow_foreach (workflow_name, run_id, step_id, idx, item) VALUES `)
		args := []any{r.Workflow, r.RunID, s.def.ID}
		for i := from; i < to; i++ {
			b, err := json.Marshal(items[i])
			if err != nil {
				return fmt.Errorf("workflow: foreach element %d: %w", i, err)
			}
			if i > from {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "($1, $2, $3, $%d, $%d)", len(args)+1, len(args)+2)
			args = append(args, i, string(b))
		}
		if _, err := tx.exec(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("workflow: store foreach elements: %w", err)
		}
	}
	return nil
}

// setItem keeps element iter of step s for this change of r.
func (r *runRow) setItem(s *step, iter int, v any) {
	if r.items == nil {
		r.items = map[string]any{}
	}
	r.items[job{Step: s.def.ID, Iter: iter}.token()] = v
}

// loadItem reads element iter of foreach step s into r (envFor's item).
func (e *Engine) loadItem(ctx context.Context, q querier, r *runRow, s *step, iter int) error {
	if _, ok := r.items[job{Step: s.def.ID, Iter: iter}.token()]; ok {
		return nil
	}
	if p := r.cur.Steps[s.def.ID]; p != nil && iter < len(p.LegacyItems) {
		r.setItem(s, iter, p.LegacyItems[iter])
		return nil
	}
	var raw string
	err := q.queryRow(ctx, `SELECT item FROM mastra_server_workflow_foreach WHERE workflow_name = $1 AND run_id = $2 AND step_id = $3 AND idx = $4`,
		r.Workflow, r.RunID, s.def.ID, iter).Scan(&raw)
	if err != nil {
		return fmt.Errorf("workflow: run %s: foreach %s element %d: %w", r.RunID, s.def.ID, iter, err)
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return fmt.Errorf("workflow: run %s: foreach %s element %d: %w", r.RunID, s.def.ID, iter, err)
	}
	r.setItem(s, iter, v)
	return nil
}

// upgradeForeach moves the elements of a cursor written by an earlier
// version (the list and the outputs so far in the cursor) into rows, once,
// so that a run under way across an upgrade goes on.
func (t *turn) upgradeForeach(s *step, p *progress) error {
	if err := t.full(); err != nil {
		return err
	}
	if err := t.e.storeItems(t.ctx, t.tx, t.r, s, p.LegacyItems); err != nil {
		return err
	}
	for i := 0; i < p.Next && i < len(p.Outputs); i++ {
		tok := job{Step: s.def.ID, Iter: i}.token()
		if p.Pending[tok] || p.Suspended[tok] {
			continue
		}
		b, err := json.Marshal(p.Outputs[i])
		if err != nil {
			return fmt.Errorf("workflow: foreach %s element %d output: %w", s.def.ID, i, err)
		}
		if _, err := t.tx.exec(t.ctx, setItemOutput, t.r.Workflow, t.r.RunID, s.def.ID, i, string(b)); err != nil {
			return fmt.Errorf("workflow: foreach %s: %w", s.def.ID, err)
		}
	}
	p.Total, p.LegacyItems, p.Outputs = len(p.LegacyItems), nil, nil
	return nil
}

// setItemOutput writes an element's output ($5) into its row.
const setItemOutput = `UPDATE mastra_server_workflow_foreach SET output = $5
	WHERE workflow_name = $1 AND run_id = $2 AND step_id = $3 AND idx = $4`

// recordItem writes element iter's output into its row, with the
// transition's batch. Only a pending element's job gets here, under the
// run's lock, and the same transition takes the element off the pending
// ones: a retried or rescued job finds it done and records nothing.
func (t *turn) recordItem(s *step, iter int, out any) error {
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("workflow: foreach %s element %d output: %w", s.def.ID, iter, err)
	}
	t.tx.extra = append(t.tx.extra, stmt{setItemOutput, []any{t.r.Workflow, t.r.RunID, s.def.ID, iter, string(b)}})
	return nil
}

// recordChild notes the nested run of element iter of workflow step s in
// the element's row (deleteTx and the step's end read it).
func (e *Engine) recordChild(ctx context.Context, tx *txn, r *runRow, s *step, iter int, childID string) error {
	if _, err := tx.exec(ctx, `UPDATE mastra_server_workflow_foreach SET child_run_id = $5
		WHERE workflow_name = $1 AND run_id = $2 AND step_id = $3 AND idx = $4`, r.Workflow, r.RunID, s.def.ID, iter, childID); err != nil {
		return fmt.Errorf("workflow: foreach %s element %d: %w", s.def.ID, iter, err)
	}
	return nil
}

// itemChildren lists the nested runs noted in run r's element rows.
func (e *Engine) itemChildren(ctx context.Context, q querier, r *runRow) ([]childRef, error) {
	w := e.wfs[r.Workflow]
	if w == nil {
		return nil, nil
	}
	rs, closeRows, err := q.query(ctx, `SELECT step_id, child_run_id FROM mastra_server_workflow_foreach
		WHERE workflow_name = $1 AND run_id = $2 AND child_run_id IS NOT NULL`, r.Workflow, r.RunID)
	if err != nil {
		return nil, fmt.Errorf("workflow: run %s: nested runs: %w", r.RunID, err)
	}
	defer closeRows()
	var out []childRef
	for rs.Next() {
		var stepID, childID string
		if err := rs.Scan(&stepID, &childID); err != nil {
			return nil, fmt.Errorf("workflow: run %s: nested runs: %w", r.RunID, err)
		}
		if s := w.byID[stepID]; s != nil && s.nested != nil {
			out = append(out, childRef{Workflow: s.nested.def.ID, RunID: childID})
		}
	}
	return out, rs.Err()
}

// itemOutputs assembles foreach step s's output once its last element
// (iter, whose output is last) is done, moves the nested runs of its
// elements to the cursor's children, and drops the step's rows.
func (t *turn) itemOutputs(s *step, iter int, last any) ([]any, error) {
	outs := make([]any, t.progress(s).Total)
	rs, closeRows, err := t.tx.query(t.ctx, `SELECT idx, output, child_run_id FROM mastra_server_workflow_foreach
		WHERE workflow_name = $1 AND run_id = $2 AND step_id = $3 AND (output IS NOT NULL OR child_run_id IS NOT NULL)`,
		t.r.Workflow, t.r.RunID, s.def.ID)
	if err != nil {
		return nil, fmt.Errorf("workflow: foreach %s outputs: %w", s.def.ID, err)
	}
	defer closeRows()
	for rs.Next() {
		var i int
		var raw, child *string
		if err := rs.Scan(&i, &raw, &child); err != nil {
			return nil, fmt.Errorf("workflow: foreach %s outputs: %w", s.def.ID, err)
		}
		if child != nil && s.nested != nil {
			t.r.cur.Children = append(t.r.cur.Children, childRef{Workflow: s.nested.def.ID, RunID: *child})
		}
		if raw == nil || i < 0 || i >= len(outs) {
			continue
		}
		if err := json.Unmarshal([]byte(*raw), &outs[i]); err != nil {
			return nil, fmt.Errorf("workflow: foreach %s output %d: %w", s.def.ID, i, err)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("workflow: foreach %s outputs: %w", s.def.ID, err)
	}
	if iter < len(outs) {
		outs[iter] = last
	}
	t.tx.extra = append(t.tx.extra, stmt{`DELETE FROM mastra_server_workflow_foreach WHERE workflow_name = $1 AND run_id = $2 AND step_id = $3`,
		[]any{t.r.Workflow, t.r.RunID, s.def.ID}})
	return outs, nil
}

// names are the identifiers expression p reads.
func (p *program) names() map[string]bool {
	v := identifiers{}
	if p != nil {
		n := p.p.Node()
		ast.Walk(&n, v)
	}
	return v
}

type identifiers map[string]bool

func (v identifiers) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v[id.Value] = true
	}
}

// readsOnly says every expression of ps reads no name but those allowed.
func readsOnly(allowed []string, ps ...*program) bool {
	for _, p := range ps {
		for n := range p.names() {
			if !slices.Contains(allowed, n) {
				return false
			}
		}
	}
	return true
}

// light says an element of foreach step s runs and is recorded without
// the run's snapshot: its work is a map, an agent or a tool whose
// expressions read only the element, its index and the run id. Such an
// element's job reads and writes the cursor and its own row, nothing that
// grows with the run's input. (A step that reads input, steps, prev or
// state reads the snapshot per element but still does not write it.)
func (s *step) lightForeach() bool {
	if s.foreach == nil {
		return false
	}
	switch s.def.Kind {
	case "map", "agent":
	case "tool":
		if s.input == nil { // its arguments are prev
			return false
		}
	default:
		return false
	}
	return readsOnly([]string{"item", "index", "runId"}, append([]*program{s.mapP, s.input}, s.prompt...)...)
}

// capError is the failure of a foreach step whose list passes the
// workflow's max_foreach_items.
func (w *workflow) capError(s *step, n int) error {
	return fmt.Errorf("foreach step %s: the list has %d elements, more than max_foreach_items = %d of workflow %s",
		s.def.ID, n, w.def.MaxForeachItems, w.def.ID)
}

// checkForeachCap refuses, before a run starts, an input that makes a
// foreach step's list longer than max_foreach_items, for the steps whose
// list the input alone decides (their foreach reads only input, or prev
// where prev is the input). Other lists are checked when their step
// starts, which then fails naming the cap.
func (w *workflow) checkForeachCap(input any) error {
	if w.def.MaxForeachItems <= 0 {
		return nil
	}
	var walk func([]*step) error
	walk = func(ss []*step) error {
		for _, s := range ss {
			if err := walk(s.children); err != nil {
				return err
			}
			allowed := []string{"input"}
			if s.top == 0 {
				allowed = append(allowed, "prev")
			}
			if s.foreach == nil || !readsOnly(allowed, s.foreach) {
				continue
			}
			v, err := s.foreach.eval(ExprEnv{Input: input, Prev: input, Steps: map[string]any{}})
			if err != nil {
				continue // the step fails with it when it starts
			}
			if items, ok := v.([]any); ok && len(items) > w.def.MaxForeachItems {
				return &InputError{Field: "inputData", Message: w.capError(s, len(items)).Error()}
			}
		}
		return nil
	}
	return walk(w.steps)
}
