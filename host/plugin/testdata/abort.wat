;; Calls env.abort the way AssemblyScript does, with the UTF-16 string "hi"
;; (its byte length in the 4 bytes before it).
(module
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 4) "\04\00\00\00h\00i\00")
  (func (export "handle_request") (result i64)
    (call $abort (i32.const 8) (i32.const 8) (i32.const 3) (i32.const 5))
    (i64.const 0)))
