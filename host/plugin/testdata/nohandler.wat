;; Exports no handle_request.
(module
  (memory (export "memory") 1)
  (func (export "handle") (result i32) (i32.const 0)))
