;; Spins forever in handle_request: only the deadline stops it.
(module
  (memory (export "memory") 1)
  (func (export "handle_request") (result i64)
    (loop $spin (br $spin))
    (i64.const 0)))
